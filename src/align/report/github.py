"""GitHub Actions workflow commands (``::error file=…,line=…::…``) for `align check`.

GitHub shows at most 10 annotations per level in a step and silently drops the rest, so we cap
each level ourselves and say how many were left out in one overflow notice; the full report goes
to the job summary (``$GITHUB_STEP_SUMMARY``), where nothing is dropped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..findings import DEFAULT_ANNOTATION_CAP

if TYPE_CHECKING:  # pragma: no cover
    from ..findings import CheckResult, Violation
    from ..types import Report

from ..vocab import LEVEL_ZH


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def annotation(v: Violation) -> str:
    props: list[str] = []
    if v.path:
        props.append(f"file={_escape_prop(v.path)}")
        if v.line:
            props.append(f"line={v.line}")
    title = f"align {v.rule}" + (f" {v.task_id}" if v.task_id else "")
    props.append(f"title={_escape_prop(title)}")
    msg = v.message_zh
    if v.page and not v.line:
        msg += f"（第{v.page}页）"
    return f"::{v.level} {','.join(props)}::{_escape_data(msg)}"


def annotations(result: CheckResult, cap: int | None = None) -> list[str]:
    """At most ``cap`` lines per level, counting the one overflow notice among the notices."""
    cap = max(1, cap or result.config.annotation_cap or DEFAULT_ANNOTATION_CAP)
    errors, warnings, notices = (result.by_level(lvl) for lvl in ("error", "warning", "notice"))
    hidden = {"error": max(0, len(errors) - cap), "warning": max(0, len(warnings) - cap)}
    notice_room = cap
    if any(hidden.values()) or len(notices) > cap:
        notice_room = cap - 1  # keep a slot for the overflow notice itself
    hidden["notice"] = max(0, len(notices) - notice_room)
    lines = [annotation(v) for v in errors[:cap]]
    lines += [annotation(v) for v in warnings[:cap]]
    lines += [annotation(v) for v in notices[:notice_room]]
    if any(hidden.values()):
        parts = "、".join(f"{LEVEL_ZH[k]} {n} 条" for k, n in hidden.items() if n)
        lines.append(
            f"::notice title=align::{_escape_data(f'另有 {parts} 未显示（GitHub 每级最多显示 {cap} 条），完整报告见作业摘要 (more findings than GitHub shows; see the job summary)')}"
        )
    return lines


def summary_markdown(result: CheckResult, reports: Sequence[Report]) -> str:
    """Job-summary markdown: the verdict, every finding, then the full coverage report."""
    from ._common import md_code, md_inline
    from .check_formats import verdict_line

    out = [f"# 政策对标检查 align check\n\n**{verdict_line(result)}**\n"]
    if result.violations:
        out.append("| 级别 | 规则 | 文件 | 任务 | 说明 |")
        out.append("|---|---|---|---|---|")
        for v in result.violations:
            where = v.path + (f":{v.line}" if v.line else "")
            msg = md_inline(v.message_zh)  # quotes plan text: shown, never rendered
            out.append(
                f"| {LEVEL_ZH[v.level]} | {md_code(v.rule)} | {md_code(where)} "
                f"| {md_inline(v.task_id or '')} | {msg} |"
            )
        out.append("")
    if reports:
        try:
            from .markdown import MarkdownFormatter

            out.append(MarkdownFormatter().format(reports))
        except ImportError:  # pragma: no cover - the markdown format is part of the package
            pass
    return "\n".join(out).rstrip("\n") + "\n"


def append_step_summary(
    result: CheckResult, reports: Sequence[Report], path: str | os.PathLike[str] | None = None
) -> Path | None:
    """Append the summary to ``$GITHUB_STEP_SUMMARY`` (or ``path``); None when neither is set."""
    target = path or os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    p = Path(target)
    with p.open("a", encoding="utf-8") as f:
        f.write(summary_markdown(result, reports) + "\n")
    return p


class GithubFormatter:
    name = "github"

    def __init__(self, cap: int | None = None):
        self.cap = cap

    def format(self, result: CheckResult, reports: Sequence[Report]) -> str:
        from .check_formats import verdict_line

        lines = annotations(result, self.cap)
        lines.append(verdict_line(result))  # plain log line, not a command
        return "\n".join(lines) + "\n"
