"""`align diff OLD NEW` output: per task, status and score before and after, and the evidence
that appeared or disappeared. Table for a terminal, JSON for tools, markdown for a PR comment.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .._text import display_width, one_line, pad, truncate
from ..vocab import STATUS_ZH as _STATUS_ZH

if TYPE_CHECKING:  # pragma: no cover
    from ..findings import DiffResult, TaskDiff
    from ..types import Evidence

STATUS_ZH: dict[str | None, str] = {**_STATUS_ZH, None: "—"}  # None: not in that report
CHANGE_ZH = {
    "regressed": "▼ 退步",
    "improved": "▲ 进步",
    "evidence-down": "↓ 证据减少",
    "evidence-up": "↑ 证据增加",
    "score-down": "↓ 置信度降",
    "score-up": "↑ 置信度升",
    "added": "+ 新增任务",
    "removed": "- 任务移除",
    "same": "= 不变",
}


def _score(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _delta(t: TaskDiff) -> str:
    d = t.delta
    return "" if d is None else f"{d:+.2f}"


def _support(t: TaskDiff) -> str:
    if t.before_support is None and t.after_support is None:
        return ""
    b = "—" if t.before_support is None else str(t.before_support)
    a = "—" if t.after_support is None else str(t.after_support)
    return f"{b}→{a}"


def _snip(text: str, width: int = 50) -> str:
    from ._common import visible

    return truncate(visible(one_line(text), keep_lines=False), width)


def _where(e: Evidence) -> str:
    return e.location.label()


def _counts_line(diff: DiffResult) -> str:
    c = diff.counts()
    order = ("regressed", "evidence-down", "score-down", "improved", "evidence-up", "score-up",
             "added", "removed", "same")
    return "，".join(f"{CHANGE_ZH[k]} {c[k]}" for k in order if c.get(k))


def diff_table(diff: DiffResult, *, all_tasks: bool = False) -> str:
    """Plain-text table (no colour, aligned for CJK), then the evidence changes per task."""
    rows = diff.tasks if all_tasks else tuple(diff.changed())
    head = ["任务 task", "名称 title", "之前 before", "之后 after", "支撑段落 passages", "变化 change"]
    body = [
        [
            t.task_id,
            _snip(t.title, 24),
            f"{STATUS_ZH[t.before_status]} {_score(t.before_score)}",
            f"{STATUS_ZH[t.after_status]} {_score(t.after_score)}",
            _support(t),
            f"{CHANGE_ZH[t.change]} {_delta(t)}".rstrip(),
        ]
        for t in rows
    ]
    out = [f"旧 old: {diff.old_path}", f"新 new: {diff.new_path}", ""]
    if body:
        widths = [max(display_width(r[i]) for r in [head, *body]) for i in range(len(head))]
        out.append("  ".join(pad(c, w) for c, w in zip(head, widths, strict=True)).rstrip())
        out.append("  ".join("-" * w for w in widths))
        for r in body:
            out.append("  ".join(pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip())
    else:
        out.append("没有任务发生变化 (no task changed)")
    ev_rows = [t for t in rows if t.appeared or t.disappeared]
    if ev_rows:
        out.append("")
        out.append("证据变化 evidence changes:")
        for t in ev_rows:
            out.append(f"  {t.task_id} {_snip(t.title, 30)}")
            for e in t.disappeared:
                out.append(f"    - {_snip(e.text)}  ({_where(e)})")
            for e in t.appeared:
                out.append(f"    + {_snip(e.text)}  ({_where(e)})")
    out.append("")
    out.append(_counts_line(diff) or "无变化 (no change)")
    return "\n".join(out) + "\n"


def _ev_json(e: Evidence) -> dict[str, Any]:
    from ..types import evidence_dict  # the report's evidence object: one shape for both

    return evidence_dict(e)


def diff_json(diff: DiffResult) -> str:
    obj = {
        "schema": "align-diff/1",
        "old": diff.old_path,
        "new": diff.new_path,
        "counts": diff.counts(),
        "tasks": [
            {
                "set": t.set_id,
                "id": t.task_id,
                "title": t.title,
                "change": t.change,
                "before": {"status": t.before_status, "score": _round(t.before_score)},
                "after": {"status": t.after_status, "score": _round(t.after_score)},
                "delta": _round(t.delta),
                "support": {"before": t.before_support, "after": t.after_support},
                "appeared": [_ev_json(e) for e in t.appeared],
                "disappeared": [_ev_json(e) for e in t.disappeared],
            }
            for t in diff.tasks
        ],
    }
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _cell(s: str) -> str:
    from ._common import md_inline

    return md_inline(s)


def diff_markdown(diff: DiffResult, *, all_tasks: bool = False) -> str:
    rows = diff.tasks if all_tasks else tuple(diff.changed())
    out = [
        f"## 规划对标变化：`{diff.old_path}` → `{diff.new_path}`\n",
        f"{_counts_line(diff) or '无变化 (no change)'}\n",
    ]
    if rows:
        out.append("| 任务 | 名称 | 之前 | 之后 | 支撑段落 | 变化 |")
        out.append("|---|---|---|---|---|---|")
        for t in rows:
            out.append(
                f"| `{t.task_id}` | {_cell(t.title)} | {STATUS_ZH[t.before_status]} {_score(t.before_score)} "
                f"| {STATUS_ZH[t.after_status]} {_score(t.after_score)} | {_support(t)} "
                f"| {CHANGE_ZH[t.change]} {_delta(t)} |"
            )
        out.append("")
    for t in rows:
        if not (t.appeared or t.disappeared):
            continue
        out.append(f"<details><summary><code>{t.task_id}</code> {_cell(t.title)} 证据变化</summary>\n")
        for e in t.disappeared:
            out.append(f"- ➖ {_cell(_snip(e.text, 120))}（{_cell(_where(e))}）")
        for e in t.appeared:
            out.append(f"- ➕ {_cell(_snip(e.text, 120))}（{_cell(_where(e))}）")
        out.append("\n</details>\n")
    return "\n".join(out).rstrip("\n") + "\n"


DIFF_FORMATS = {"table": diff_table, "json": diff_json, "markdown": diff_markdown}
