"""The evidence the gate's rules quote and count: a task's best passage, where it is, its
supporting passages and the short quotes messages use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..types import Chunk, Evidence, Report, TaskResult


def top(t: TaskResult) -> Evidence | None:
    return t.evidence[0] if t.evidence else None


def evidence_where(t: TaskResult) -> tuple[int | None, int | None]:
    e = top(t)
    return (e.location.line, e.location.page) if e else (None, None)


def snippet(text: str, width: int = 40) -> str:
    t = " ".join(text.split())
    return t if len(t) <= width else t[: width - 1] + "…"


def iter_tasks(report: Report) -> Iterable[tuple[str, str, TaskResult]]:
    for s in report.policy_sets:
        for t in s.tasks:
            yield s.id, s.title, t


def supporting_passages(report: Report) -> dict[str, tuple[Chunk, ...]]:
    """Per task, the plan passages that count as evidence at all (confidence at or above the
    task's evidence cut-off), from the report's task x chunk matrix.

    A task's score is its best passage, so deleting a section can leave the score untouched
    while most of the evidence is gone; counting these passages catches that. Empty when the
    report carries no matrix (then the evidence rule is skipped)."""
    if not report.chunks:
        return {}
    out: dict[str, tuple[Chunk, ...]] = {}
    for t, row in report.task_rows():
        if t.threshold is None:
            continue
        floor = t.threshold.evidence_floor
        out[t.id] = tuple(c for c, x in zip(report.chunks, row, strict=True) if x >= floor)
    return out



def passage_json(c: Chunk) -> dict[str, Any]:
    return {"line": c.location.line, "page": c.location.page, "text": snippet(c.text, 60)}


def norm(text: str) -> str:
    return "".join(text.split())
