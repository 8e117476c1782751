"""`align chunks`: show the chunks the scorer sees, with where each came from."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import app
from ._common import (
    EXIT_INPUT,
    TABLE_OR_JSON,
    EncodingOption,
    MaxSizeOption,
    OutputOption,
    check_format,
    handle_errors,
    plan_files,
    read_each,
    resolve_format,
    write_output,
)

FORMATS = TABLE_OR_JSON
FilesArgument = plan_files("FILE...")


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
    from ..chunk import DEFAULT_MAX_TOKENS, chunk_document

    check_format(fmt, FORMATS)
    fmt = resolve_format(fmt, output, FORMATS, "table")
    limit = max_tokens or DEFAULT_MAX_TOKENS
    results, failed = read_each(
        files, encoding, max_size, lambda doc: (doc, chunk_document(doc, max_tokens=limit))
    )
    if fmt == "json":
        import json

        from ..report.chunks import chunks_json

        write_output(json.dumps(chunks_json(results), ensure_ascii=False, indent=2), output)
    elif results:
        _print_tables(results, full=full, output=output)
    if failed:
        raise typer.Exit(EXIT_INPUT)


def _print_tables(results, *, full: bool, output: Path | None) -> None:
    import io

    from rich.console import Console

    from ..report.chunks import render_chunks
    from ._common import out_console

    buffer = io.StringIO() if output is not None else None
    console = Console(file=buffer, width=160, highlight=False) if buffer else out_console()
    render_chunks(results, console, full=full)
    if buffer is not None:
        write_output(buffer.getvalue(), output, terminal=True)
