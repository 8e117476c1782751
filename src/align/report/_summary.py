"""Columns shared by the batch overview formats (summary.csv, summary.xlsx): one definition of
what a reviewer's spreadsheet holds, so the two files never disagree."""

from __future__ import annotations

from typing import Any

from ..types import STATUSES
from ._common import STATUS_ZH
from .overview import Overview, PlanRow

PLAN_HEAD = ("规划 plan", "路径 path", "字数 chars")
ERROR_HEAD = "错误 error"
TASK_SHEET_HEAD = (
    "任务编号 task",
    "政策集 set",
    "任务 title",
    *(f"{STATUS_ZH[s]} {s}" for s in STATUSES),
    *(f"{STATUS_ZH[s]}占比 {s} share" for s in STATUSES),
)


def plan_header(ov: Overview) -> list[str]:
    head = list(PLAN_HEAD)
    for s in ov.sets:
        head.append(f"{s.id} 覆盖率 covered share")
    for t in ov.tasks:
        head.append(f"{t.id} {t.title}")
    for t in ov.tasks:
        head.append(f"{t.id} 得分 score")
    head.append(ERROR_HEAD)
    return head


def plan_cells(ov: Overview, p: PlanRow) -> list[Any]:
    """One row: shares as fractions (0-1), statuses as their Chinese labels, scores as numbers;
    a failed plan has empty task cells and its one-line error in the last column."""
    row: list[Any] = [p.name, p.path, p.chars]
    row.extend(p.set_share(s) for s in ov.sets)
    row.extend(STATUS_ZH.get(p.status.get(t.id, ""), "") or None for t in ov.tasks)
    row.extend(p.score.get(t.id) for t in ov.tasks)
    row.append(p.error)
    return row


def task_rows(ov: Overview) -> list[list[Any]]:
    rows = []
    for t in ov.tasks:
        c, sh = ov.task_counts(t.id), ov.task_shares(t.id)
        rows.append(
            [t.id, t.set_id, t.title, *(c[s] for s in STATUSES), *(sh[s] for s in STATUSES)]
        )
    return rows


def status_of_label(label: str) -> str | None:
    return next((k for k, v in STATUS_ZH.items() if v == label), None)
