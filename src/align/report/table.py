"""The default terminal report: a rich table per policy set, readable in Chinese at 100 columns."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from ..types import Report
from ._common import STATUS_STYLE, score_fraction, snippet, status_text, summary_line, visible

BAR_WIDTH = 8


def _bar(frac: float) -> str:
    full = round(frac * BAR_WIDTH)
    return "█" * full + "░" * (BAR_WIDTH - full)


class TableFormatter:
    name = "table"

    def __init__(self, width: int | None = None, color: bool | None = None):
        self.width = width
        self.color = color

    def render(self, reports: Sequence[Report], console: Any) -> None:
        from rich.table import Table
        from rich.text import Text

        for r in reports:
            console.print(
                Text.assemble(
                    ("政策对标报告 ", "bold"),
                    (r.document.path, "bold cyan"),
                    f"  （{r.document.chars} 字，{r.document.chunks} 个片段，模型 {r.model.name}）",
                )
            )
            for s in r.policy_sets:
                table = Table(
                    title=f"{s.title}（{s.id}）",
                    title_justify="left",
                    show_lines=False,
                    expand=False,
                    pad_edge=False,
                )
                table.add_column("任务", no_wrap=True)
                table.add_column("名称", max_width=22)
                table.add_column("状态", no_wrap=True)
                table.add_column("得分", no_wrap=True)
                table.add_column("最佳证据（位置）", ratio=1, min_width=24)
                for t in s.tasks:
                    ev = t.evidence[0] if t.evidence else None
                    if ev:
                        evid = Text(snippet(ev.text, 48, ev.location.heading))
                        loc = visible(ev.location.label(), keep_lines=False)
                        if loc:
                            evid.append(f"（{loc}）", style="dim")
                    else:
                        evid = Text("—", style="dim")
                    table.add_row(
                        t.id,
                        t.title,
                        Text(status_text(t.status), style=STATUS_STYLE[t.status]),
                        Text(f"{_bar(score_fraction(t))} {t.score:5.2f}"),
                        evid,
                    )
                console.print(table)
                console.print(f"  {summary_line(s)}\n")

    def format(self, reports: Sequence[Report]) -> str:
        from rich.console import Console

        buf = io.StringIO()
        console = Console(
            file=buf,
            width=self.width or 100,
            force_terminal=bool(self.color),
            no_color=not self.color,
            highlight=False,
        )
        self.render(reports, console)
        return buf.getvalue()
