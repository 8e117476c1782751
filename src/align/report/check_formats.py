"""Output formats for `align check` results (a ``CheckResult`` plus the reports it judged).

Kept apart from ``FORMATS`` in ``align.report`` (those render score reports). Each check format
is a class with ``name`` and ``format(result, reports) -> str``; modules load only when asked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from ..findings import CheckResult
    from ..types import Report

CHECK_FORMATS: dict[str, str] = {
    "text": "check_formats:TextCheckFormatter",
    "json": "check_formats:JsonCheckFormatter",
    "github": "github:GithubFormatter",
    "sarif": "sarif:SarifFormatter",
    "junit": "junit:JunitFormatter",
}


class CheckFormatter(Protocol):
    name: str

    def format(self, result: CheckResult, reports: Sequence[Report]) -> str: ...


def get_check_formatter(name: str, **options: object) -> CheckFormatter:
    from . import load_formatter

    return load_formatter(CHECK_FORMATS, name, "检查输出格式", **options)


def verdict_line(result: CheckResult) -> str:
    c = result.counts()
    head = (
        "未通过 FAILED" if result.failed else ("输入错误 INPUT ERROR" if result.exit_code == 2 else "通过 PASSED")
    )
    mode = "与基线比较 (baseline)" if result.mode == "baseline" else "按规则检查 (rules)"
    return f"{head}：{mode}，错误 {c['error']} · 警告 {c['warning']} · 提示 {c['notice']}"


class TextCheckFormatter:
    """One line per finding in the ``path:line:col: level rule message`` shape of ruff,
    markdownlint and Vale, so editors, CI problem matchers and ``grep`` can jump to it; then
    the verdict. A finding without a line points at line 1; one about no plan (the config's
    rules) points at the config file."""

    name = "text"

    def format(self, result: CheckResult, reports: Sequence[Report]) -> str:
        out = [finding_line(v, result) for v in result.violations]
        if out:
            out.append("")
        out.append(verdict_line(result))
        return "\n".join(out) + "\n"


def finding_line(v, result: CheckResult) -> str:
    """``plans/a.txt:61:1: error regressed [tzpy-04] 深化职业教育产教融合…：已覆盖 → 未覆盖``"""
    from ..findings import display_path

    if v.path:
        path = v.path
    elif result.config.source:
        path = display_path(result.config.source)
    else:
        path = "align.toml"
    tid = f"[{v.task_id}] " if v.task_id else ""
    page = f"（第{v.page}页）" if v.page and not v.line else ""
    message = " ".join(f"{tid}{v.message_zh}{page}".split())  # one line, whatever the text
    from ..errors import shown_path

    return f"{shown_path(path)}:{v.line or 1}:1: {v.level} {v.rule} {message}"  # one line


class JsonCheckFormatter:
    """Machine-readable: ``align-check/1`` with every violation and the verdict."""

    name = "json"

    def format(self, result: CheckResult, reports: Sequence[Report]) -> str:
        from dataclasses import asdict

        obj = {
            "schema": "align-check/1",
            "mode": result.mode,
            "passed": not result.failed and result.exit_code == 0,
            "exit_code": result.exit_code,
            "counts": result.counts(),
            "config": str(result.config.source) if result.config.source else None,
            "documents": [r.document.path for r in reports],
            "violations": [asdict(v) for v in result.violations],
        }
        return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"
