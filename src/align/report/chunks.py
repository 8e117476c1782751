"""`align chunks`: the chunks the scorer sees, as JSON rows or one rich table per plan."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._text import one_line, truncate
from ..types import Chunk, Document, location_dict
from ._common import visible

PREVIEW_CHARS = 80
Results = Sequence[tuple[Document, Sequence[Chunk]]]


def chunks_json(results: Results) -> list[dict[str, Any]]:
    """One object per chunk of every plan: path, id, text, tokens, heading path and location."""
    from ..chunk import count_tokens

    return [
        {
            "path": doc.path,
            "id": c.id,
            "text": c.text,
            "tokens": count_tokens(c.text),
            "heading_path": list(c.heading_path),
            "label": c.location.label(),
            "location": location_dict(c.location),
        }
        for doc, chunks in results
        for c in chunks
    ]


def render_chunks(results: Results, console: Any, *, full: bool = False) -> None:
    """One table per plan on a rich ``console``; ``full``: whole texts instead of a preview."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from ..chunk import count_tokens

    for doc, chunks in results:
        meta = (
            [doc.format] + ([doc.encoding] if doc.encoding else []) + [f"{len(chunks)} 块 chunks"]
        )
        title = escape(visible(f"{doc.path}（{' · '.join(meta)}）", keep_lines=False))
        table = Table(title=title, show_lines=full, expand=True)
        table.add_column("编号", no_wrap=True)
        table.add_column("位置 location", ratio=2, min_width=10)
        table.add_column("标题 heading", ratio=2, min_width=10)
        table.add_column("词元", justify="right", no_wrap=True)
        table.add_column("文本 text", ratio=5, min_width=20, overflow="fold")
        for c in chunks:
            text = c.text if full else truncate(one_line(c.text), PREVIEW_CHARS)
            # Text() cells: plan text such as "[1]" must not be read as rich markup
            table.add_row(
                c.id,
                Text(visible(c.location.label())),
                Text(visible(c.location.heading or "")),
                str(count_tokens(c.text)),
                Text(visible(text)),  # an ESC from the plan must not reach the terminal
            )
        console.print(table)
