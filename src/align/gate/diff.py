"""`align diff`: per task, status, score and evidence before and after, between two reports."""

from __future__ import annotations

from ..findings import DiffResult, TaskDiff
from ..types import Report
from .evidence import iter_tasks, norm, supporting_passages


def diff_reports(old: Report, new: Report) -> DiffResult:
    """Per task: status and score before and after, and the evidence (by chunk text) that
    appeared or disappeared. Tasks keep the new report's order; tasks only in the old report
    follow at the end."""
    old_tasks = {t.id: (sid, t) for sid, _st, t in iter_tasks(old)}
    old_sup, new_sup = supporting_passages(old), supporting_passages(new)
    rows: list[TaskDiff] = []
    seen: set[str] = set()
    for sid, _st, t in iter_tasks(new):
        seen.add(t.id)
        o = old_tasks.get(t.id)
        ot = o[1] if o else None
        old_ev = {norm(e.text): e for e in ot.evidence} if ot else {}
        new_ev = {norm(e.text): e for e in t.evidence}
        rows.append(
            TaskDiff(
                set_id=sid,
                task_id=t.id,
                title=t.title,
                before_status=ot.status if ot else None,
                after_status=t.status,
                before_score=ot.score if ot else None,
                after_score=t.score,
                appeared=tuple(e for k, e in new_ev.items() if k not in old_ev),
                disappeared=tuple(e for k, e in old_ev.items() if k not in new_ev),
                before_support=len(old_sup[t.id]) if t.id in old_sup else None,
                after_support=len(new_sup[t.id]) if t.id in new_sup else None,
            )
        )
    for tid, (sid, ot) in old_tasks.items():
        if tid not in seen:
            rows.append(
                TaskDiff(
                    set_id=sid, task_id=tid, title=ot.title, before_status=ot.status,
                    after_status=None, before_score=ot.score, after_score=None,
                    disappeared=tuple(ot.evidence),
                )
            )
    return DiffResult(old_path=old.document.path, new_path=new.document.path, tasks=tuple(rows))
