"""Wording and small helpers shared by the human-readable formats (Chinese first)."""

from __future__ import annotations

from ..types import SetResult, Status, TaskResult

STATUS_LABEL: dict[str, str] = {"covered": "已覆盖", "partial": "部分覆盖", "missing": "未覆盖"}
STATUS_SYMBOL: dict[str, str] = {"covered": "✔", "partial": "◐", "missing": "✘"}
STATUS_STYLE: dict[str, str] = {"covered": "green", "partial": "yellow", "missing": "red"}


def status_text(status: Status | str) -> str:
    """Symbol and word, so the status reads without colour (and in a screen reader)."""
    return f"{STATUS_SYMBOL[status]} {STATUS_LABEL[status]}"


def summary_line(s: SetResult) -> str:
    c = s.summary
    n = len(s.tasks) or 1
    return (
        f"已覆盖 {c['covered']} · 部分覆盖 {c['partial']} · 未覆盖 {c['missing']}"
        f"（共 {len(s.tasks)} 项，覆盖率 {100 * c['covered'] / n:.0f}%，"
        f"含部分覆盖 {100 * (c['covered'] + c['partial']) / n:.0f}%）"
    )


def snippet(text: str, width: int = 60, heading: str | None = None) -> str:
    """A one-line preview; leading heading lines (already shown as the location) are dropped."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    heads = set(heading.split(" > ")) if heading else set()
    while len(lines) > 1 and lines[0] in heads:
        lines.pop(0)
    t = " ".join(" ".join(lines).split())
    return t if len(t) <= width else t[: width - 1] + "…"


def score_fraction(t: TaskResult) -> float:
    """The confidence (0-100) as a 0..1 bar."""
    return max(0.0, min(1.0, t.score / 100.0))


def missing_sub_measures(t: TaskResult) -> list[str]:
    return [m.title for m in t.sub_measures if not m.evidenced]
