"""The plans x tasks overview of a batch (the data the summary formats render), built from ``reports.jsonl`` lines alone.

Only the ``align-report/1`` JSON fields are read (document, model, policy_sets with each task's
id, title, score and status), so the overview can be rebuilt from the file on another machine
(``align batch --summarize``) and does not depend on how scores are computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from ..types import ERROR_SCHEMA, STATUSES


def is_error(rec: dict[str, Any]) -> bool:
    """A ``reports.jsonl`` line that records a plan that could not be scored."""
    return rec.get("schema") == ERROR_SCHEMA


def _count(statuses: Iterable[str | None]) -> dict[str, int]:
    """How many of each status (others, such as a missing task, are not counted)."""
    out = {k: 0 for k in STATUSES}
    for st in statuses:
        if st in out:
            out[st] += 1
    return out


@dataclass(frozen=True)
class TaskColumn:
    id: str
    set_id: str
    title: str


@dataclass(frozen=True)
class SetColumn:
    id: str
    title: str
    task_ids: tuple[str, ...]


@dataclass(frozen=True)
class PlanRow:
    name: str  # file name, what a reviewer recognises
    path: str  # as given to align batch
    sha256: str | None
    chars: int | None = None
    model: str = ""
    html: str | None = None  # the plan's own page, relative to the batch folder
    error: str | None = None
    status: dict[str, str] = field(default_factory=dict)  # task id -> status
    score: dict[str, float] = field(default_factory=dict)  # task id -> score

    def set_counts(self, s: SetColumn) -> dict[str, int]:
        return _count(self.status.get(tid) for tid in s.task_ids)

    def set_share(self, s: SetColumn) -> float | None:
        """Share of the set's tasks this plan covers (None for a failed plan)."""
        if self.error is not None or not s.task_ids:
            return None
        return self.set_counts(s)["covered"] / len(s.task_ids)


@dataclass(frozen=True)
class Overview:
    plans: tuple[PlanRow, ...]
    tasks: tuple[TaskColumn, ...]
    sets: tuple[SetColumn, ...]

    @property
    def scored(self) -> tuple[PlanRow, ...]:
        return tuple(p for p in self.plans if p.error is None)

    @property
    def failed(self) -> tuple[PlanRow, ...]:
        return tuple(p for p in self.plans if p.error is not None)

    def task_counts(self, task_id: str) -> dict[str, int]:
        """How many scored plans cover / partly cover / miss the task."""
        return _count(p.status.get(task_id) for p in self.scored)

    def task_shares(self, task_id: str) -> dict[str, float]:
        counts = self.task_counts(task_id)
        n = sum(counts.values())
        return {k: (v / n if n else 0.0) for k, v in counts.items()}


def build_overview(records: Sequence[dict[str, Any]], outdir: Path | None = None) -> Overview:
    """Plans sorted by path (the same order whatever engine or resume order wrote them); tasks
    and sets in the order the reports list them (first report that has them wins)."""
    tasks: dict[str, TaskColumn] = {}
    sets: dict[str, tuple[str, list[str]]] = {}
    rows: list[PlanRow] = []
    for rec in records:
        doc = rec.get("document") or {}
        path = str(doc.get("path") or (rec.get("batch") or {}).get("file") or "")
        name = PurePath(path.replace("\\", "/")).name or path
        if is_error(rec):
            rows.append(PlanRow(name, path, doc.get("sha256"), error=str(rec.get("error") or "")))
            continue
        status: dict[str, str] = {}
        score: dict[str, float] = {}
        for s in rec.get("policy_sets") or []:
            title, ids = sets.setdefault(s["id"], (s.get("title", s["id"]), []))
            for t in s.get("tasks") or []:
                tid = t["id"]
                if tid not in tasks:
                    tasks[tid] = TaskColumn(tid, s["id"], t.get("title", tid))
                    ids.append(tid)
                status[tid] = t.get("status", "")
                score[tid] = float(t.get("score", 0.0))
        html = (rec.get("batch") or {}).get("html")
        if html and outdir is not None and not (outdir / html).exists():
            html = None  # never link to a page that is not there
        rows.append(
            PlanRow(
                name,
                path,
                doc.get("sha256"),
                chars=doc.get("chars"),
                model=(rec.get("model") or {}).get("name", ""),
                html=html,
                status=status,
                score=score,
            )
        )
    rows.sort(key=lambda r: (r.path, r.name))
    return Overview(
        plans=tuple(rows),
        tasks=tuple(tasks.values()),
        sets=tuple(SetColumn(sid, title, tuple(ids)) for sid, (title, ids) in sets.items()),
    )
