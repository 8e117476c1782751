"""`align chunks`: show the chunks the scorer sees, with where each came from."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import app
from ._common import (
    EXIT_INPUT,
    EncodingOption,
    MaxSizeOption,
    OutputOption,
    handle_errors,
    megabytes,
    print_error,
    resolve_format,
    write_output,
)

FORMATS = ("table", "json")
PREVIEW_CHARS = 80
FilesArgument = typer.Argument(
    ...,
    metavar="FILE...",
    help="规划文件或目录（可多个）。Plan files or directories.",
    show_default=False,
)


@app.command("chunks")
@handle_errors
def chunks_command(
    files: list[Path] = FilesArgument,
    fmt: str = typer.Option(
        None, "--format", "-f",
        help="输出格式：table（默认）或 json；未给出时按 -o 的扩展名推断。"
        " Output format: table (default) or json, or what -o's extension names.",
    ),
    encoding: str | None = EncodingOption,
    max_tokens: int | None = typer.Option(
        None,
        "--max-tokens",
        min=8,
        help="每块最多词元数（默认 200）。Maximum model tokens per chunk (default 200).",
    ),
    max_size: float = MaxSizeOption,
    full: bool = typer.Option(
        False, "--full", help="表格中显示全文。Show whole chunk texts in the table."
    ),
    output: Path | None = OutputOption,
) -> None:
    """列出文档切分出的文本块及其位置。Print a plan's chunks and their locations.

    Bad files are reported one line each on stderr and skipped; the exit code is 2 if any
    file could not be read.
    """
    from ..chunk import DEFAULT_MAX_TOKENS, chunk_document, count_tokens
    from ..errors import AlignError
    from ..read import collect_inputs, read_document

    if fmt is not None and fmt not in FORMATS:
        raise typer.BadParameter(
            f"必须是 {' / '.join(FORMATS)} 之一 (one of {', '.join(FORMATS)})",
            param_hint="--format",
        )
    fmt = resolve_format(fmt, output, tuple(FORMATS), "table")
    limit = max_tokens or DEFAULT_MAX_TOKENS
    paths, errors = collect_inputs(files)
    failed = bool(errors)
    for err in errors:
        print_error(err)

    results = []
    for path in paths:
        try:
            doc = read_document(path, encoding=encoding, max_bytes=megabytes(max_size))
            results.append((doc, chunk_document(doc, max_tokens=limit)))
        except AlignError as err:
            print_error(err)
            failed = True

    if fmt == "json":
        import json

        rows = [
            {
                "path": doc.path,
                "id": c.id,
                "text": c.text,
                "tokens": count_tokens(c.text),
                "heading_path": list(c.heading_path),
                "label": c.location.label(),
                "location": {
                    "page": c.location.page,
                    "heading": c.location.heading,
                    "line": c.location.line,
                    "paragraph": c.location.paragraph,
                    "start": c.location.start,
                    "end": c.location.end,
                },
            }
            for doc, chunks in results
            for c in chunks
        ]
        write_output(json.dumps(rows, ensure_ascii=False, indent=2), output)
    elif results:
        _print_tables(results, full=full, output=output)
    if failed:
        raise typer.Exit(EXIT_INPUT)


def _print_tables(results, *, full: bool, output: Path | None) -> None:
    import io

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from ..chunk import count_tokens
    from ..report._common import visible
    from ._common import out_console

    buffer = io.StringIO() if output is not None else None
    console = Console(file=buffer, width=160, highlight=False) if buffer else out_console()
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
            text = c.text if full else _preview(c.text)
            # Text() cells: plan text such as "[1]" must not be read as rich markup
            table.add_row(
                c.id,
                Text(visible(c.location.label())),
                Text(visible(c.location.heading or "")),
                str(count_tokens(c.text)),
                Text(visible(text)),  # an ESC from the plan must not reach the terminal
            )
        console.print(table)
    if buffer is not None:
        write_output(buffer.getvalue(), output, terminal=True)


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"
