"""Wording and small helpers shared by the human-readable formats (Chinese first)."""

from __future__ import annotations

from collections.abc import Mapping

from .._text import truncate
from ..chunk import unwrap
from ..types import STATUSES, SetResult, Status, TaskResult
from ..vocab import (  # re-exported: the formats import their words from here
    STATUS_STYLE,
    STATUS_SYMBOL,
    STATUS_ZH,
    VERDICT_SHORT,
    VERDICT_STYLE,
    VERDICT_SYMBOL,
    VERDICT_ZH,
)

__all__ = [
    "STATUS_STYLE", "STATUS_SYMBOL", "STATUS_ZH", "VERDICT_SHORT", "VERDICT_STYLE",
    "VERDICT_SYMBOL", "VERDICT_ZH", "assess_detail", "assess_text", "counts_text", "md_code", "md_inline",
    "missing_sub_measures", "score_fraction", "snippet", "status_text", "summary_line", "visible",
]



def status_text(status: Status | str) -> str:
    """Symbol and word, so the status reads without colour (and in a screen reader)."""
    return f"{STATUS_SYMBOL[status]} {STATUS_ZH[status]}"


def counts_text(c: Mapping[str, int]) -> str:
    """``已覆盖 3 · 部分覆盖 1 · 未覆盖 2``."""
    return " · ".join(f"{STATUS_ZH[s]} {c[s]}" for s in STATUSES)


def summary_line(s: SetResult) -> str:
    c = s.summary
    n = len(s.tasks) or 1
    return (
        f"{counts_text(c)}（共 {len(s.tasks)} 项，覆盖率 {100 * c['covered'] / n:.0f}%，"
        f"含部分覆盖 {100 * (c['covered'] + c['partial']) / n:.0f}%）"
    )


def snippet(text: str, width: int = 60, heading: str | None = None) -> str:
    """A one-line preview; leading heading lines (already shown as the location) are dropped."""
    lines = [ln.strip() for ln in unwrap(text).splitlines() if ln.strip()]
    heads = set(heading.split(" > ")) if heading else set()
    while len(lines) > 1 and lines[0] in heads:
        lines.pop(0)
    return truncate(visible(" ".join(" ".join(lines).split()), keep_lines=False), width)


def score_fraction(t: TaskResult) -> float:
    """The confidence (0-100) as a 0..1 bar."""
    return max(0.0, min(1.0, t.score / 100.0))


def missing_sub_measures(t: TaskResult) -> list[str]:
    return [m.title for m in t.sub_measures if not m.evidenced]


def assess_text(t: TaskResult, short: bool = False) -> str:
    """可考核 verdict with symbol (✔ 可考核 / ◐ 部分可考核 / ✘ 不可考核; short: 是/部分/否),
    or "—" when the report has none."""
    a = t.assessable
    if a is None:
        return "—"
    words = VERDICT_SHORT if short else VERDICT_ZH  # short: the table's 可考核 column
    return f"{VERDICT_SYMBOL[a.verdict]} {words[a.verdict]}"


def assess_detail(t: TaskResult, limit: int = 4) -> str:
    """目标 30名以上、60% · 时间 2023年底前 · 责任 人事处: what the evidence commits to."""
    a = t.assessable
    if a is None:
        return ""
    parts: list[str] = []
    if a.targets:
        items = list(dict.fromkeys(x.text for x in a.targets))
        more = f" 等{len(items)}项" if len(items) > limit else ""
        parts.append("目标 " + "、".join(items[:limit]) + more)
    if a.deadlines:
        items = list(dict.fromkeys(d.text for d in a.deadlines))
        more = f" 等{len(items)}项" if len(items) > limit else ""
        parts.append("时间 " + "、".join(items[:limit]) + more)
    if a.owners:
        parts.append("责任 " + "、".join(a.owners[:limit]))
    return " · ".join(parts) if parts else "无量化目标、时间节点"


# Control characters from plan text must not reach a terminal (ESC sequences recolour, move the
# cursor or retitle the window) nor hide in a preview: C0 controls become their Unicode control
# pictures (ESC -> ␛), DEL ␡, C1 controls and bidirectional overrides a visible \x / \u escape.
_PICTURES = {c: chr(0x2400 + c) for c in range(0x20)}
_PICTURES[0x7F] = "\u2421"
_PICTURES.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})
_PICTURES.update({c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})
_KEEP_LINES = {ord("\n"): "\n", ord("\t"): "\t"}


def visible(text: str, *, keep_lines: bool = True) -> str:
    """``text`` with control characters shown as visible symbols (newlines and tabs kept when
    ``keep_lines``): for anything plan-derived that is printed to a terminal."""
    table = {**_PICTURES, **_KEEP_LINES} if keep_lines else _PICTURES
    return text.translate(table)


_MD_SPECIAL = {ord(c): "\\" + c for c in "\\`*_[]#!~|{}"}
_MD_SPECIAL.update({ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;"})


def md_inline(text: str) -> str:
    """Plan text as inert Markdown inline content (a table cell, a list item): HTML is shown,
    not rendered (no ``<img onerror=…>``), and no link, image, emphasis or code span can be
    started from it. One line; control characters visible."""
    one = visible(" ".join(text.split()), keep_lines=False)
    return one.translate(_MD_SPECIAL)


def md_code(text: str) -> str:
    """``text`` as a Markdown code span, with a fence longer than any backtick run inside."""
    one = visible(" ".join(text.split()), keep_lines=False)
    run, best = 0, 0
    for ch in one:
        run = run + 1 if ch == "`" else 0
        best = max(best, run)
    fence = "`" * (best + 1)
    pad = " " if one.startswith("`") or one.endswith("`") else ""
    return f"{fence}{pad}{one}{pad}{fence}"
