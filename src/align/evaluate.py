"""Measure scoring quality on a labelled dev set, and calibrate a model's thresholds from it.

The dev set (``dev/passages.jsonl``) holds plan paragraphs labelled with the tasks they answer,
grouped into documents and split into ``calibration`` and ``validation``. Two views are measured:

* passages: each paragraph scored on its own, as a held-out set would score it through ``jsonl``:
  per-task ROC-AUC and average precision, and top-1 hit rate (is the best task one of its labels);
* documents: each dev document assembled with its headings and scored whole; coverage
  precision/recall/F1 of (covered or partial) against "some passage is labelled with the task".
Unrelated documents (hospital, company, primary school) must have nothing ``covered``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .types import Chunk, Location

REPO = Path(__file__).resolve().parents[2]
DEV_FILE = REPO / "dev" / "passages.jsonl"
UNRELATED_DIR = REPO / "dev" / "unrelated"


@dataclass(frozen=True)
class DevPassage:
    id: str
    doc: str
    heading: str
    text: str
    labels: frozenset[str]
    split: str


def load_dev(path: Path = DEV_FILE) -> list[DevPassage]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(
                DevPassage(
                    d["id"], d["doc"], d.get("heading", ""), d["text"],
                    frozenset(d.get("labels", ())), d.get("split", "calibration"),
                )
            )
    return out


def doc_text(passages: Sequence[DevPassage]) -> str:
    """A dev document as a plan file: a heading line whenever the heading changes."""
    lines: list[str] = []
    last = None
    for p in passages:
        if p.heading and p.heading != last:
            lines.append(p.heading)
            last = p.heading
        lines.append(p.text)
    return "\n".join(lines) + "\n"


def passage_chunks(passages: Sequence[DevPassage]) -> list[Chunk]:
    return [
        Chunk(id=p.id, text=p.text, location=Location(0, len(p.text)))
        for p in passages
    ]


# --------------------------------------------------------------------------- metrics


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    pos, neg = scores[positive], scores[~positive]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(order.size)
    allv = np.concatenate([pos, neg])[order]
    # average ranks for ties
    i = 0
    r = np.arange(1, order.size + 1, dtype=float)
    while i < order.size:
        j = i
        while j + 1 < order.size and allv[j + 1] == allv[i]:
            j += 1
        r[i : j + 1] = (i + j + 2) / 2
        i = j + 1
    ranks[order] = r
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    if positive.sum() == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    hits = positive[order]
    prec = np.cumsum(hits) / np.arange(1, hits.size + 1)
    return float((prec * hits).sum() / hits.sum())


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}


def _nanmean(xs: Iterable[float]) -> float:
    v = [x for x in xs if not math.isnan(x)]
    return float(np.mean(v)) if v else float("nan")


# --------------------------------------------------------------------------- evaluation


def passage_scores(scorer: Any, passages: Sequence[DevPassage], calibration: Any = None) -> np.ndarray:
    """(n_tasks, n_passages) task scores of each passage scored on its own."""
    from .scoring.combine import score_chunks

    cal = calibration or scorer.calibration
    # each passage is scored as a one-chunk document would be: its confidence (0-100)
    return score_chunks(passage_chunks(passages), scorer.index, scorer.embedder, cal).prob * 100


def passage_metrics(task_ids: Sequence[str], scores: np.ndarray, passages: Sequence[DevPassage]) -> dict[str, Any]:
    per_task = {}
    for ti, tid in enumerate(task_ids):
        pos = np.array([tid in p.labels for p in passages])
        per_task[tid] = {
            "auc": roc_auc(scores[ti], pos),
            "ap": average_precision(scores[ti], pos),
            "positives": int(pos.sum()),
        }
    labelled = [i for i, p in enumerate(passages) if p.labels]
    top1 = [task_ids[int(np.argmax(scores[:, i]))] in passages[i].labels for i in labelled]
    return {
        "per_task": per_task,
        "mean_auc": _nanmean(v["auc"] for v in per_task.values()),
        "mean_ap": _nanmean(v["ap"] for v in per_task.values()),
        "top1": float(np.mean(top1)) if top1 else float("nan"),
        "n_passages": len(passages),
    }


def document_reports(scorer: Any, passages: Sequence[DevPassage]) -> dict[str, Any]:
    from .read import read_bytes

    by_doc: dict[str, list[DevPassage]] = defaultdict(list)
    for p in passages:
        by_doc[p.doc].append(p)
    out = {}
    for doc, ps in sorted(by_doc.items()):
        d = read_bytes(doc_text(ps).encode("utf-8"), f"{doc}.txt")
        out[doc] = (scorer.score_document(d), frozenset().union(*[p.labels for p in ps]))
    return out


def coverage_metrics(doc_reports: dict[str, Any]) -> dict[str, Any]:
    tp = fp = fn = 0
    for _doc, (report, gold) in doc_reports.items():
        for s in report.policy_sets:
            for t in s.tasks:
                pred = t.status in ("covered", "partial")
                if pred and t.id in gold:
                    tp += 1
                elif pred:
                    fp += 1
                elif t.id in gold:
                    fn += 1
    return prf(tp, fp, fn)


def unrelated_reports(scorer: Any, directory: Path = UNRELATED_DIR) -> dict[str, Any]:
    labels_file = directory / "labels.json"
    allowed = json.loads(labels_file.read_text(encoding="utf-8")) if labels_file.exists() else {}
    out = {}
    for f in sorted(directory.glob("*.txt")):
        r = scorer.score_path(f)
        wrongly = [
            t.id for s in r.policy_sets for t in s.tasks
            if t.status == "covered" and t.id not in allowed.get(f.name, [])
        ]
        partial = [t.id for s in r.policy_sets for t in s.tasks if t.status == "partial"]
        out[f.name] = {"covered_not_allowed": wrongly, "partial": partial,
                       "covered": [t.id for s in r.policy_sets for t in s.tasks if t.status == "covered"]}
    return out


def evaluate(scorer: Any, passages: Sequence[DevPassage] | None = None) -> dict[str, Any]:
    passages = list(passages or load_dev())
    task_ids = [t.id for t in scorer.index.tasks]
    result: dict[str, Any] = {"model": scorer.embedder.info.name, "calibration_file": scorer.calibration.source}
    for split in ("calibration", "validation", "all"):
        ps = [p for p in passages if split == "all" or p.split == split]
        if not ps:
            continue
        m = passage_metrics(task_ids, passage_scores(scorer, ps), ps)
        m["coverage"] = coverage_metrics(document_reports(scorer, ps))
        result[split] = m
    result["unrelated"] = unrelated_reports(scorer)
    return result


def _with(cal: Any, **kw: Any) -> Any:
    return replace(cal, **kw)
