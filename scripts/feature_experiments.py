#!/usr/bin/env python3
"""The set-relative features and reading chunks without their heading: what each does, on real text.

    python scripts/feature_experiments.py            # about two minutes with the e5 cache warm

For each variant the head is fitted as ``scripts/calibrate.py`` fits it (real calibration split,
the written set at weight 0.3, the unrelated documents) and measured two ways, never on its own
training passages: out-of-fold on the real calibration documents (five folds by document: what a
choice is made on) and on the real validation split (units alone, as ``make eval`` scores them).
README "Quality" quotes the numbers.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

import calibrate as shipped  # noqa: E402

from align import calibrate as C  # noqa: E402
from align.evaluate import average_precision, roc_auc  # noqa: E402
from align.evaluate_real import load_units  # noqa: E402
from align.pipeline import Scorer  # noqa: E402
from align.scoring.combine import set_relative  # noqa: E402


def metrics(probs: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
    tasks = [t for t in range(gold.shape[0]) if gold[t].any()]
    ap = float(np.mean([average_precision(probs[t], gold[t]) for t in tasks]))
    auc = float(np.mean([roc_auc(probs[t], gold[t]) for t in tasks]))
    labelled = np.where(gold.any(axis=0))[0]
    top1 = float(np.mean([gold[np.argmax(probs[:, i]), i] for i in labelled]))
    return auc, ap, top1


def datasets(heading: bool) -> tuple[C.Dataset, C.Dataset, list[str]]:
    base = replace(C.starting_calibration("e5-small"), heading_context=heading)
    scorer = Scorer(model="e5-small", calibration=base)
    train = shipped.training_passages()
    val = [C.LabelledPassage(u.text, dict(u.labels), u.doc, "", 1.0)
           for u in load_units() if u.split == "validation"]
    sets = [t.set_id for t in scorer.index.tasks]
    return C.build_dataset(scorer, train, base), C.build_dataset(scorer, val, base), sets


def variant(ds: C.Dataset, cols: list[int], sets: list[str], across_all: bool) -> C.Dataset:
    x = ds.features[:, :, :4]
    if across_all:  # relative to every task loaded, not to the task's own set
        x = np.concatenate([x, set_relative(x, ["all"] * len(sets))], axis=2)
    else:
        x = ds.features
    return replace(ds, features=x[:, :, cols])


def main() -> int:
    rows = []
    for heading in (True, False):
        train, val, sets = datasets(heading)
        real = np.array([not d.startswith(("dev:", "unrelated:")) for d in train.docs])
        for name, cols, across in (
            ("four signals", [0, 1, 2, 3], False),
            ("+ relative to own set (shipped)", list(range(8)), False),
            ("+ relative, dense only", [0, 1, 2, 3, 4, 5], False),
            ("+ relative to all tasks", list(range(8)), True),
        ):
            a, b = variant(train, cols, sets, across), variant(val, cols, sets, across)
            oof = C.out_of_fold_probs(a)
            head = C.fit_head(a)
            o = metrics(oof[:, real], a.gold[:, real])
            v = metrics(C.passage_probs(b, head), b.gold)
            rows.append((("with" if heading else "without") + " heading", name, o, v))
            print(f"{rows[-1][0]:<16}{name:<34} out-of-fold AUC {o[0]:.3f} MAP {o[1]:.3f} | "
                  f"validation AUC {v[0]:.3f} MAP {v[1]:.3f} top-1 {v[2]:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
