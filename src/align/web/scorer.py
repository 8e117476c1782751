"""The one Scorer of the process, shared by every request, and the choice of policy sets."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..types import Report
from .upload import BadUpload

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline import Scorer
    from ..types import PolicySet

ScorerFactory = Callable[[], "Scorer"]


def default_scorer() -> Scorer:
    """``Scorer()`` with the default model and policy sets."""
    from ..pipeline import Scorer

    return Scorer()


class ScorerHolder:
    """Creates the Scorer once (lazily, thread-safe) and serialises scoring on it."""

    def __init__(self, factory: ScorerFactory) -> None:
        self._factory = factory
        self._scorer: Scorer | None = None
        self._create_lock = threading.Lock()
        self._score_lock = threading.Lock()
        self.created = 0  # how many Scorers this process made (tests assert it stays 1)

    @property
    def loaded(self) -> bool:
        return self._scorer is not None

    def get(self) -> Scorer:
        scorer = self._scorer
        if scorer is None:
            with self._create_lock:
                if self._scorer is None:
                    self._scorer = self._factory()
                    self.created += 1
                scorer = self._scorer
        return scorer

    def policy_sets(self) -> list[PolicySet]:
        return list(self.get().policy_sets)

    def score(self, data: bytes, name: str, set_ids: Sequence[str] | None) -> Report:
        return self.score_noting(data, name, set_ids)[0]

    def score_noting(
        self, data: bytes, name: str, set_ids: Sequence[str] | None
    ) -> tuple[Report, list[str]]:
        """The report and the reader's notices about the file (``InputWarning``: bad bytes
        replaced, ...), which the CLI prints on stderr and the page shows above the report."""
        import warnings

        from ..errors import InputWarning

        scorer = self.get()
        wanted = check_set_ids(scorer.policy_sets, set_ids)
        with self._score_lock, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InputWarning)
            report = scorer.score_bytes(data, name)
        notices = [str(w.message) for w in caught if isinstance(w.message, InputWarning)]
        for w in caught:  # anything else is not ours to swallow
            if not isinstance(w.message, InputWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return select_sets(report, wanted), notices


def check_set_ids(policy_sets: Sequence[PolicySet], set_ids: Sequence[str] | None) -> list[str]:
    """The requested ids in order, or every set's id when none was asked for."""
    known = [p.id for p in policy_sets]
    if not set_ids:
        return known
    unknown = [s for s in set_ids if s not in known]
    if unknown:
        raise BadUpload(
            f"未知的政策集：{'、'.join(unknown)}，可选：{'、'.join(known)} (unknown policy set)"
        )
    return list(dict.fromkeys(set_ids))


def select_sets(report: Report, set_ids: Sequence[str]) -> Report:
    """The report restricted to ``set_ids``, with the matching rows of the heat-map matrix."""
    wanted = set(set_ids)
    if all(s.id in wanted for s in report.policy_sets):
        return report
    sets = tuple(s for s in report.policy_sets if s.id in wanted)
    keep = {t.id for s in sets for t in s.tasks}
    rows = report.task_rows()
    matrix = tuple(row for t, row in rows if t.id in keep) if rows else ()
    return replace(report, policy_sets=sets, matrix=matrix)
