"""The default terminal report: a rich table per policy set, readable in Chinese at 100 columns."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from ..types import Report
from ._common import (
    STATUS_STYLE,
    VERDICT_STYLE,
    assess_text,
    score_fraction,
    snippet,
    status_text,
    summary_line,
    visible,
)

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

        from ._wrap import install

        install()  # Chinese wraps at its punctuation; nothing is cut with "…"
        # below 100 columns the bar and part of the title column give way to the evidence
        narrow = console.width < 100
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
                show_assess = any(t.assessable is not None for t in s.tasks)
                # rich would rather overflow the console than squeeze these further: at 80
                # columns the widths below leave every column room (tests/test_cjk_wrap.py)
                name_width = (12 if show_assess else 14) if narrow else 22
                table.add_column("任务", no_wrap=True)
                table.add_column("名称", max_width=name_width, overflow="fold")
                table.add_column("状态", no_wrap=True)
                table.add_column("置信度", no_wrap=True)
                if show_assess:
                    table.add_column("可考核", no_wrap=True)
                table.add_column("最佳证据（位置）", ratio=1, min_width=20 if narrow else 24,
                                 overflow="fold")
                for t in s.tasks:
                    ev = t.evidence[0] if t.evidence else None
                    if ev:
                        evid = Text(snippet(ev.text, 48, ev.location.heading))
                        loc = visible(ev.location.label(), keep_lines=False)
                        if loc:  # on a line of its own, whole: where a reviewer looks
                            evid.append(f"\n（{loc}）", style="dim")
                    else:
                        evid = Text("—", style="dim")
                    cells = [
                        t.id,
                        t.title,
                        Text(status_text(t.status), style=STATUS_STYLE[t.status]),
                        Text(f"{t.score:3.0f}" if narrow else f"{_bar(score_fraction(t))} {t.score:3.0f}"),
                    ]
                    if show_assess:
                        style = VERDICT_STYLE[t.assessable.verdict] if t.assessable else "dim"
                        cells.append(Text(assess_text(t, short=True), style=style))
                    table.add_row(*cells, evid)
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
