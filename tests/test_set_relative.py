"""The set-relative features: a task's signal against its own set's other tasks only, so which
sets are scored together never changes a set's scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import align
from align.scoring.combine import set_relative
from align.scoring.head import FEATURES, SIGNALS

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "plan.txt"


def test_relative_to_own_set_only():
    rng = np.random.default_rng(0)
    signals = rng.normal(size=(5, 7, len(SIGNALS)))
    both = set_relative(signals, ["a", "a", "a", "b", "b"])
    alone = set_relative(signals[:3], ["a", "a", "a"])
    np.testing.assert_allclose(both[:3], alone)
    # a task that fits a passage better than its siblings gets a positive feature, and shifting
    # every task of a set by the same amount changes nothing
    assert both[0, :, 0][signals[0, :, 0] > signals[1:3, :, 0].max(axis=0)].min() > 0
    np.testing.assert_allclose(set_relative(signals + 3.0, list("aaabb")), both)
    assert len(FEATURES) == 2 * len(SIGNALS)


def test_one_task_set_has_no_siblings():
    assert not set_relative(np.ones((1, 3, 4)) * 5.0, ["only"]).any()


def test_choosing_sets_does_not_change_a_sets_scores():
    """`--set tzpy-2020` gives the 提质培优 tasks the scores they get when every set is scored
    (the lexical model: the same head structure, no torch)."""
    full = align.score(EXAMPLE, model="lexical", cache=False)
    one = align.score(EXAMPLE, model="lexical", cache=False, set_ids=["tzpy-2020"])
    scores = {t.id: t.raw_score for s in full.policy_sets for t in s.tasks}
    assert [s.id for s in one.policy_sets] == ["tzpy-2020"]
    for t in one.policy_sets[0].tasks:
        assert t.raw_score == pytest.approx(scores[t.id], abs=1e-9)
