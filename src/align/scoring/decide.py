"""From chunk probabilities to a judgement of the whole document: each task's confidence,
status, supporting passages and sub-measures.

Why it is built this way (measured on real plans, see README "Quality"):

* A document addresses a task when some of its passages do. Its **confidence** is a noisy-OR over
  its strongest few passages, so several passages on one task are stronger evidence than one,
  while the length of the rest of the plan does not matter: adding text can only add evidence
  (a plan made of two plans addresses all that either does), and a long plan is not judged
  against "what unrelated chunks reach by chance" — the probability layer already says how
  rarely unrelated text looks like evidence.
* ``covered`` needs at least ``covered_min_passages`` supporting passages as well as the
  confidence: one stray sentence, however on-topic, makes a task ``partial``, not ``covered``.
* The thresholds are the calibration's (``Calibration.threshold_for``: the policy file's, else
  the calibration file's per task, else its defaults); a passage supports a task when its
  confidence reaches the ``evidence`` threshold (``partial`` when the file has none).

Scores shown to people are confidences on 0-100; the log-odds are kept beside them in JSON.
Only numpy; nothing here loads a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..types import (
    Chunk,
    Evidence,
    PolicySet,
    SetResult,
    Status,
    SubMeasureResult,
    TaskResult,
    Threshold,
)
from .head import logit

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .calibration import Calibration
    from .combine import ChunkScores

MAX_EVIDENCE = 3


def document_confidence(probs: np.ndarray, top_k: int) -> float:
    """Noisy-OR over the ``top_k`` most probable passages: 1 - prod(1 - p). Monotone: more
    text never lowers it, and it does not grow with the number of weak passages."""
    import numpy as np

    if probs.size == 0:
        return 0.0
    top = np.sort(probs)[::-1][: max(1, top_k)]
    return float(1.0 - np.prod(1.0 - top))


def _status(conf: float, n_support: int, th: Threshold, min_passages: int) -> Status:
    if conf >= th.covered and n_support >= min_passages:
        return "covered"
    if conf >= th.partial:
        return "partial"
    return "missing"


def _reason(status: Status, conf: float, top: float, n: int, th: Threshold, min_p: int) -> str:
    support = f"{n} 段内容支持该任务（最强一段置信度 {top:.0f}）" if n else "没有单段内容达到证据标准"
    if status == "covered":
        return f"{support}，综合置信度 {conf:.0f} ≥ 覆盖阈值 {th.covered:.0f}。"
    if status == "partial":
        if conf >= th.covered and n < min_p:
            return (
                f"{support}，综合置信度 {conf:.0f} 已达覆盖阈值 {th.covered:.0f}，"
                f"但“已覆盖”需要至少 {min_p} 段证据：有所涉及，论述不充分。"
            )
        return (
            f"{support}，综合置信度 {conf:.0f} 介于部分覆盖阈值 {th.partial:.0f} 与覆盖阈值 "
            f"{th.covered:.0f} 之间：有所涉及，但论述不充分。"
        )
    return f"综合置信度 {conf:.0f} 低于部分覆盖阈值 {th.partial:.0f}：未找到足够证据。"


def _evidence(
    chunks: Sequence[Chunk],
    conf_row: np.ndarray,
    raw_row: np.ndarray,
    floor: float,
    terms: Sequence[str],
    k: int | None,
    words_of: dict[str, tuple[str, ...]] | None,
) -> tuple[Evidence, ...]:
    import numpy as np

    from .lexical import matched_terms

    order = np.argsort(-conf_row, kind="stable")
    out = []
    for ci in order[: k if k is not None else len(order)]:
        if conf_row[ci] < floor:
            break
        c = chunks[int(ci)]
        out.append(
            Evidence(
                chunk_id=c.id,
                text=c.text,
                score=float(conf_row[ci]),
                location=c.location,
                matched_terms=tuple(matched_terms(terms, c.text, words_of)),
                raw_score=float(raw_row[ci]),
            )
        )
    return tuple(out)


def decide(
    chunks: Sequence[Chunk],
    policy_sets: Sequence[PolicySet],
    scores: ChunkScores,
    calibration: Calibration,
    words_of: dict[str, tuple[str, ...]] | None = None,
) -> tuple[SetResult, ...]:
    """Per task: confidence, status, the supporting passages (best first) and which
    sub-measures they speak to. ``words_of``: the task index's term words (no jieba here)."""
    import numpy as np

    conf = scores.prob * 100.0
    min_p = calibration.covered_min_passages
    results: list[SetResult] = []
    ti = 0
    for s in policy_sets:
        task_results = []
        # vocational policies: a plan that never names vocational education (a primary school's)
        # covers none of their tasks, however close its wording (the labelling rule, as a gate)
        in_context = not s.context_terms or any(
            term in c.text for c in chunks for term in s.context_terms
        )
        for t in s.tasks:
            th = calibration.threshold_for(t)
            row = conf[ti] if conf.size else np.zeros(0)
            raw = scores.logit[ti] if conf.size else np.zeros(0)
            floor = th.evidence if th.evidence is not None else th.partial
            n_support = int((row >= floor).sum())
            c = 100.0 * document_confidence(row / 100.0, calibration.top_k)
            top = float(row.max()) if row.size else 0.0
            status = _status(c, n_support, th, min_p)
            reason = _reason(status, c, top, n_support, th, min_p)
            if status == "covered" and not in_context:
                status = "partial"
                shown = "”“".join(s.context_terms[:3])
                reason = (
                    f"{n_support} 段内容与该任务相近（综合置信度 {c:.0f}），但全文未出现职业教育语境"
                    f"（如“{shown}”）：最多判为部分覆盖。"
                )
            terms = [*t.terms, *t.aliases]
            ev = _evidence(chunks, row, raw, floor, terms, MAX_EVIDENCE, words_of)
            subs = _sub_measures(chunks, t, ti, scores, row, floor, terms, words_of)
            task_results.append(
                TaskResult(
                    id=t.id,
                    title=t.title,
                    score=round(c, 2),
                    status=status,
                    evidence=ev,
                    sub_measures=subs,
                    threshold=Threshold(th.covered, th.partial, floor),
                    reason=reason,
                    raw_score=logit(c / 100.0),
                    support=n_support,
                )
            )
            ti += 1
        results.append(SetResult(s.id, s.title, tuple(task_results)))
    return tuple(results)


def _sub_measures(
    chunks: Sequence[Chunk],
    task: Any,
    ti: int,
    scores: ChunkScores,
    conf_row: np.ndarray,
    floor: float,
    terms: Sequence[str],
    words_of: dict[str, tuple[str, ...]] | None,
) -> tuple[SubMeasureResult, ...]:
    """A sub-measure is evidenced when one of the task's supporting passages is closer to it
    than to the task's other sub-measures; its score is that passage's confidence."""
    import numpy as np

    n = len(task.sub_measures)
    if n == 0:
        return ()
    rows = [scores.sub.get((ti, si)) for si in range(n)]
    if any(r is None or r.size == 0 for r in rows):
        return tuple(SubMeasureResult(m.id, m.title, 0.0, False) for m in task.sub_measures)
    mat = np.vstack(rows)  # (n_sub, n_chunks)
    nearest = mat.argmax(axis=0)
    supported = conf_row >= floor
    out = []
    for si, m in enumerate(task.sub_measures):
        mine = np.where(supported & (nearest == si), conf_row, -1.0)
        best = int(mine.argmax())
        if mine[best] < 0:
            out.append(SubMeasureResult(m.id, m.title, 0.0, False))
            continue
        ev = _evidence(
            [chunks[best]], conf_row[best : best + 1], scores.logit[ti, best : best + 1],
            floor, [*m.terms, *terms], 1, words_of,
        )  # fmt: skip
        out.append(SubMeasureResult(m.id, m.title, float(conf_row[best]), True, ev))
    return tuple(out)
