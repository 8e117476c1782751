"""`align policies`: the policy sets and their tasks as one rich table per set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..types import PolicySet


def _short_terms(terms: tuple[str, ...], limit: int = 3) -> str:
    shown = "、".join(terms[:limit])
    return shown + ("…" if len(terms) > limit else "")


def render_policies(sets: Sequence[PolicySet], console: Any) -> None:
    """A table per set (id, official title, sub-measure count, key terms when the console is
    wide enough for them) and a closing count line, on a rich ``console``."""
    from rich.table import Table

    for s in sets:
        meta = " · ".join(x for x in (s.issuer, s.number, s.date) if x)
        table = Table(
            title=f"[bold]{s.title}[/bold]  ({s.id})",
            caption=f"{meta}\n{s.path}",
            caption_justify="left",
            show_lines=False,
            expand=False,
        )
        table.add_column("任务 id", no_wrap=True, style="cyan")
        table.add_column("官方标题 official title", overflow="fold", min_width=16)
        table.add_column("子项", justify="right", no_wrap=True)
        show_terms = console.width >= 80  # too cramped below that: titles matter more
        if show_terms:
            table.add_column("关键词 key terms", overflow="ellipsis", no_wrap=True, max_width=34)
        for t in s.tasks:
            row = [t.id + (" *" if t.broad else ""), t.title, str(len(t.sub_measures))]
            table.add_row(*row, *([_short_terms(t.terms)] if show_terms else []))
        console.print(table)
        console.print()
    n_tasks = sum(len(s.tasks) for s in sets)
    console.print(
        f"共 {len(sets)} 个政策集、{n_tasks} 项任务；* 宽泛任务（阈值更严）. "
        f"{len(sets)} sets, {n_tasks} tasks; * = broad task."
    )
