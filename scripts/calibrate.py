#!/usr/bin/env python3
"""Calibrate a model's scoring parameters on the dev set and write them to its config.

    python scripts/calibrate.py --model e5-small          # writes src/align/calibration/e5-small.json
    python scripts/calibrate.py --model e5-small --check  # recomputes, fails if the shipped file differs

Only the ``calibration`` split of dev/passages.jsonl (and dev/unrelated/) is used; the
``validation`` split is kept for honest numbers (scripts/evaluate.py).

Choices, in order:
1. background.jsonl: the calibration passages (with labels) plus unrelated paragraphs; each task
   is standardised against the background passages NOT labelled with it.
2. signal weights and the sub-measure view weight: the grid point with the best per-task passage
   ranking (mean ROC-AUC + mean AP; top-1 breaks ties) on calibration passages.
3. partial threshold: the one that maximises document coverage F1 (covered|partial vs labels) on
   calibration documents, ties broken towards the middle of the best interval.
4. covered threshold: the lowest score at which passage-level precision reaches PRECISION_COVERED,
   raised if needed above every unrelated document's best score on any task it does not answer
   (plus UNRELATED_MARGIN), and never below the partial threshold.
5. broad tasks (flagged ``broad`` in the policy files): steps 3-4 on their rows alone.
6. sub-measure threshold: the partial threshold (same standardised scale).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from itertools import product
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from align.evaluate import (  # noqa: E402
    UNRELATED_DIR,
    doc_text,
    load_dev,
    passage_metrics,
    passage_scores,
)
from align.pipeline import Scorer  # noqa: E402
from align.scoring import BACKGROUND_FILE, Calibration, calibration_path, load_background  # noqa: E402

PRECISION_COVERED = 0.90
UNRELATED_MARGIN = 0.25
GRID_DENSE = (1.0,)
GRID_LEXICAL = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
GRID_SUB = (0.0, 0.3, 0.5, 0.7, 1.0)
GRID_HEADING = (True,)
GRID_SUB_MODE = ("blend", "max")
ROUND = 3


def write_background(passages, unrelated_dir: Path) -> list[dict]:
    rows = [{"text": p.text, "labels": sorted(p.labels)} for p in passages]
    for f in sorted(unrelated_dir.glob("*.txt")):
        for para in f.read_text(encoding="utf-8").split("\n"):
            para = para.strip()
            if len(para) >= 30:
                rows.append({"text": para, "labels": []})
    return rows


def doc_best_scores(scorer: Scorer, cal: Calibration, docs: dict[str, list]) -> tuple[np.ndarray, np.ndarray]:
    """(n_docs, n_tasks) best chunk score per task, and the gold matrix."""
    from align.read import read_bytes

    task_ids = [t.id for t in scorer.index.tasks]
    best, gold = [], []
    for name, ps in sorted(docs.items()):
        d = read_bytes(doc_text(ps).encode("utf-8"), f"{name}.txt")
        from align.chunk import chunk_document
        from align.scoring import score_chunks

        chunks = chunk_document(d)
        m = score_chunks(chunks, scorer.index, scorer.embedder, cal).task
        best.append(m.max(axis=1))
        labels = set().union(*[p.labels for p in ps])
        gold.append([tid in labels for tid in task_ids])
    return np.array(best), np.array(gold, dtype=bool)


def best_f1_threshold(scores: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    cands = np.unique(scores)
    best_f, best_lo, best_hi = -1.0, 0.0, 0.0
    for i, t in enumerate(cands):
        pred = scores >= t
        tp = int((pred & gold).sum())
        fp = int((pred & ~gold).sum())
        fn = int((~pred & gold).sum())
        f = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        lo = cands[i - 1] if i else t - 0.5
        if f > best_f + 1e-12:
            best_f, best_lo, best_hi = f, float(lo), float(t)
    return (best_lo + best_hi) / 2, best_f


def precision_threshold(scores: np.ndarray, gold: np.ndarray, target: float) -> float:
    order = np.argsort(-scores)
    s, g = scores[order], gold[order]
    prec = np.cumsum(g) / np.arange(1, g.size + 1)
    ok = np.where(prec >= target)[0]
    if ok.size == 0:
        return float(s[0])
    # lowest score whose cumulative precision is still >= target (first drop below after a run)
    k = ok.max()
    return float(s[k])


def calibrate(model: str) -> dict:
    passages = load_dev()
    cal_ps = [p for p in passages if p.split == "calibration"]
    rows = write_background(cal_ps, UNRELATED_DIR)
    BACKGROUND_FILE.parent.mkdir(parents=True, exist_ok=True)
    BACKGROUND_FILE.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    load_background.cache_clear()

    base = Calibration(key="", dense_weight=1.0, lexical_weight=0.5, covered=99, partial=99, sub_measure=99)
    scorer = Scorer(model=model, calibration=base, progress=True)
    key = scorer.embedder.key
    dense = scorer.embedder.dense
    task_ids = [t.id for t in scorer.index.tasks]
    broad = np.array([t.broad for t in scorer.index.tasks])

    # 2. weights
    best = None
    grid = product(GRID_DENSE if dense else (0.0,), GRID_LEXICAL if dense else (1.0,),
                   GRID_SUB, GRID_HEADING, GRID_SUB_MODE)
    for wd, wl, sw, hc, mode in grid:
        if wd + wl == 0 or (sw == 0 and mode == "max"):
            continue
        cal = replace(base, dense_weight=wd, lexical_weight=wl, sub_view_weight=sw, heading_context=hc,
                      sub_mode=mode)
        m = passage_metrics(task_ids, passage_scores(scorer, cal_ps, cal), cal_ps)
        # per-task ranking quality decides coverage; top-1 (multi-label passages over heavily
        # overlapping tasks) only breaks ties
        objective = m["mean_auc"] + m["mean_ap"] + 0.01 * m["top1"]
        print(f"  dense={wd} lexical={wl} sub={sw} mode={mode} heading={hc}: auc={m['mean_auc']:.3f} "
              f"ap={m['mean_ap']:.3f} top1={m['top1']:.3f}", file=sys.stderr)
        if best is None or objective > best[0] + 1e-9:
            best = (objective, cal, m)
    assert best is not None
    _, cal, pm = best
    # the null distributions depend on the chosen weights: rebuild the task index with them
    scorer = Scorer(model=model, calibration=cal, embedder=scorer.embedder)

    # 3-5. thresholds
    docs: dict[str, list] = {}
    for p in cal_ps:
        docs.setdefault(p.doc, []).append(p)
    doc_best, doc_gold = doc_best_scores(scorer, cal, docs)
    pscores = passage_scores(scorer, cal_ps, cal)  # (tasks, passages)
    pgold = np.array([[tid in p.labels for p in cal_ps] for tid in task_ids])

    # unrelated: best score per task, ignoring tasks the document legitimately answers
    allowed = json.loads((UNRELATED_DIR / "labels.json").read_text(encoding="utf-8"))
    from align.chunk import chunk_document
    from align.read import read_document
    from align.scoring import score_chunks

    unrelated_max = np.full(len(task_ids), -np.inf)
    for f in sorted(UNRELATED_DIR.glob("*.txt")):
        ch = chunk_document(read_document(f))
        m = score_chunks(ch, scorer.index, scorer.embedder, cal).task.max(axis=1)
        for ti, tid in enumerate(task_ids):
            if tid not in allowed.get(f.name, []):
                unrelated_max[ti] = max(unrelated_max[ti], m[ti])

    def thresholds(mask: np.ndarray) -> dict:
        partial, f1 = best_f1_threshold(doc_best[:, mask].ravel(), doc_gold[:, mask].ravel())
        covered = precision_threshold(pscores[mask].ravel(), pgold[mask].ravel(), PRECISION_COVERED)
        covered = max(covered, partial)
        return {"covered": round(covered, ROUND), "partial": round(partial, ROUND), "_doc_f1": round(f1, 4)}

    general = thresholds(~broad)
    broad_th = thresholds(broad) if broad.any() else None
    # a task that unrelated text (a hospital, a company, a primary school) can reach gets its own,
    # stricter covered threshold: just above the best unrelated score, so such text is at most partial
    per_task = {}
    for ti, t in enumerate(scorer.index.tasks):
        th = broad_th if (t.broad and broad_th) else general
        floor = float(unrelated_max[ti]) + UNRELATED_MARGIN
        if floor > th["covered"]:
            per_task[t.id] = {"covered": round(floor, ROUND), "partial": th["partial"]}
    out = {
        "model": key,
        "model_name": scorer.embedder.info.name,
        "written_by": "scripts/calibrate.py",
        "dev_set": "dev/passages.jsonl (split=calibration) + dev/unrelated",
        "weights": {"dense": cal.dense_weight, "lexical": cal.lexical_weight},
        "sub_view_weight": cal.sub_view_weight,
        "sub_mode": cal.sub_mode,
        "heading_context": cal.heading_context,
        "negative_penalty": cal.negative_penalty,
        "thresholds": {
            "covered": general["covered"],
            "partial": general["partial"],
            "sub_measure": general["partial"],
            "broad": {"covered": broad_th["covered"], "partial": broad_th["partial"]} if broad_th else None,
            "tasks": per_task,
        },
        "calibration_metrics": {
            "passage_mean_auc": round(pm["mean_auc"], 4),
            "passage_mean_ap": round(pm["mean_ap"], 4),
            "passage_top1": round(pm["top1"], 4),
            "doc_f1_general": general["_doc_f1"],
            "doc_f1_broad": broad_th["_doc_f1"] if broad_th else None,
            "unrelated_max": {tid: round(float(x), 3) for tid, x in zip(task_ids, unrelated_max, strict=True)},
        },
    }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--check", action="store_true", help="fail if the shipped calibration differs")
    args = ap.parse_args()
    shipped = None
    if args.check:
        bg = BACKGROUND_FILE.read_text(encoding="utf-8") if BACKGROUND_FILE.exists() else None
    out = calibrate(args.model)
    path = calibration_path(out["model"])
    text = json.dumps(out, ensure_ascii=False, indent=2) + "\n"
    if args.check:
        shipped = path.read_text(encoding="utf-8") if path.exists() else ""
        if bg is not None:
            BACKGROUND_FILE.write_text(bg, encoding="utf-8")
        a, b = json.loads(shipped or "{}"), json.loads(text)
        same = a.get("thresholds") == b.get("thresholds") and a.get("weights") == b.get("weights")
        print("calibration reproduces the shipped file" if same else "calibration DIFFERS from the shipped file")
        if not same:
            print(json.dumps({"shipped": a.get("thresholds"), "recomputed": b.get("thresholds")}, ensure_ascii=False))
        return 0 if same else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(REPO)}")
    print(json.dumps(out["thresholds"], ensure_ascii=False))
    print(json.dumps(out["calibration_metrics"], ensure_ascii=False)[:2000])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
