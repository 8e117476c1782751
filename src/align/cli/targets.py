"""`align targets`: a plan's commitments as a list (targets, time nodes, owners), per chunk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    write_output,
)

FORMATS = TABLE_OR_JSON
FilesArgument = plan_files("PLAN...")


@app.command("targets")
@handle_errors
def targets_command(
    files: list[Path] = FilesArgument,
    fmt: str = typer.Option(
        "table", "--format", "-f", help="输出格式：table 或 json。Output format: table or json."
    ),
    encoding: str | None = EncodingOption,
    max_size: float = MaxSizeOption,
    output: Path | None = OutputOption,
) -> None:
    """列出规划中的量化目标、时间节点与责任单位（可考核）。List a plan's targets, time
    nodes and owners, with where each is.

    Bad files are reported one line each on stderr and skipped; the exit code is 2 if any
    file could not be read.
    """
    from ..chunk import chunk_document
    from ..report.commitments import commitments_json, render_table

    check_format(fmt, FORMATS)
    results, failed = read_each(
        files, encoding, max_size, lambda doc: commitments_json(doc, chunk_document(doc))
    )
    if fmt == "json":
        import json

        data: Any = results[0] if len(results) == 1 else results
        if results or not failed:
            write_output(json.dumps(data, ensure_ascii=False, indent=2), output)
    elif results:
        write_output(render_table(results), output, terminal=True)
    if failed:
        raise typer.Exit(EXIT_INPUT)
