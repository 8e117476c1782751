"""Markdown for pasting into a review, a pull request or a GitHub job summary."""

from __future__ import annotations

from collections.abc import Sequence

from ..types import Report
from ._common import (
    STATUS_SYMBOL,
    STATUS_ZH,
    assess_detail,
    assess_text,
    md_code,
    md_inline,
    missing_sub_measures,
    snippet,
    summary_line,
)


def _cell(text: str) -> str:
    """Plan or policy text in a table cell: shown as text, never as HTML or Markdown."""
    return md_inline(text)


class MarkdownFormatter:
    name = "markdown"

    def format(self, reports: Sequence[Report]) -> str:
        out: list[str] = []
        for r in reports:
            out.append(f"## 政策对标报告：{md_code(r.document.path)}\n")
            out.append(
                f"模型 {r.model.name} {r.model.version} · {r.document.chars} 字 · "
                f"{r.document.chunks} 个片段 · align {r.align_version}\n"
            )
            for s in r.policy_sets:
                out.append(f"### {md_inline(s.title)}（{md_code(s.id)}）\n")
                out.append(f"{summary_line(s)}\n")
                out.append("| 任务 | 名称 | 状态 | 置信度 | 可考核 | 最佳证据 | 位置 |")
                out.append("|---|---|---|---:|---|---|---|")
                for t in s.tasks:
                    ev = t.evidence[0] if t.evidence else None
                    out.append(
                        f"| {md_code(t.id)} | {_cell(t.title)} | {STATUS_SYMBOL[t.status]} "
                        f"{STATUS_ZH[t.status]} | {t.score:.0f} | {assess_text(t)} | "
                        f"{_cell(snippet(ev.text, 50, ev.location.heading)) if ev else '—'} | "
                        f"{_cell(ev.location.label()) if ev else ''} |"
                    )
                out.append("")
                committed = [t for t in s.tasks if t.assessable and t.status != "missing"]
                if committed:
                    out.append("<details><summary>可考核：证据中的目标、时间节点与责任单位</summary>\n")
                    for t in committed:
                        out.append(f"- {md_code(t.id)} {assess_text(t)}：{_cell(assess_detail(t))}")
                    out.append("\n</details>\n")
                gaps = [(t, missing_sub_measures(t)) for t in s.tasks if t.status != "missing"]
                gaps = [(t, m) for t, m in gaps if m]
                if gaps:
                    out.append("<details><summary>缺少证据的具体举措</summary>\n")
                    for t, miss in gaps:
                        out.append(f"- {md_code(t.id)} {md_inline(t.title)}：" + "；".join(map(md_inline, miss)))
                    out.append("\n</details>\n")
        return "\n".join(out)
