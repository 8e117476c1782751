"""`align targets`: a plan's commitments as a list (targets, time nodes, owners), per chunk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    write_output,
)

FORMATS = ("table", "json")
FilesArgument = typer.Argument(
    ...,
    metavar="PLAN...",
    help="规划文件或目录（可多个）。Plan files or directories.",
    show_default=False,
)


def commitments_json(doc: Any, chunks: Any) -> dict[str, Any]:
    """``{"document": {...}, "chunks": [{"chunk_id", "location", "text", "targets",
    "deadlines", "owners", "owner_details"}]}``; offsets (start/end) are into the document
    text; ``owners`` are names (as in a report's ``assessable``), ``owner_details`` add the role
    (牵头 / 负责 / 配合 / 责任) and where each is."""
    from ..assess import extract, owner_names, plan_time

    plan = plan_time(doc.text)
    rows = []
    for c in chunks:
        found = extract(c.text, plan)
        base = c.location.start
        rows.append(
            {
                "chunk_id": c.id,
                "location": {
                    "label": c.location.label(),
                    "page": c.location.page,
                    "heading": c.location.heading,
                    "line": c.location.line,
                    "paragraph": c.location.paragraph,
                    "start": c.location.start,
                    "end": c.location.end,
                },
                "text": c.text,
                "targets": [
                    {
                        "text": t.text,
                        "value": t.value,
                        "unit": t.unit,
                        "comparator": t.comparator,
                        "measured": t.measured,
                        "upper": t.upper,
                        "from": t.from_value,
                        "start": base + t.start,
                        "end": base + t.end,
                    }
                    for t in found.targets
                ],
                "deadlines": [
                    {
                        "text": d.text,
                        "date": d.date,
                        "kind": d.kind,
                        "start": base + d.start,
                        "end": base + d.end,
                    }
                    for d in found.deadlines
                ],
                # names, as a task's "assessable" lists them; roles and places beside
                "owners": owner_names(found.owners),
                "owner_details": [
                    {"name": o.name, "role": o.role, "start": base + o.start, "end": base + o.end}
                    for o in found.owners
                ],
            }
        )
    return {
        "document": {
            "path": doc.path,
            "sha256": doc.sha256,
            "chars": len(doc.text),
            "chunks": len(rows),
            "format": doc.format,
            "encoding": doc.encoding,
            "year": plan.year,
            "period": list(plan.period) if plan.period else None,
        },
        "chunks": rows,
    }


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
    from ..errors import AlignError
    from ..read import collect_inputs, read_document

    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"必须是 {' / '.join(FORMATS)} 之一 (one of {', '.join(FORMATS)})",
            param_hint="--format",
        )
    paths, errors = collect_inputs(files)
    failed = bool(errors)
    for err in errors:
        print_error(err)
    results = []
    for path in paths:
        try:
            doc = read_document(path, encoding=encoding, max_bytes=megabytes(max_size))
            results.append(commitments_json(doc, chunk_document(doc)))
        except AlignError as err:
            print_error(err)
            failed = True
    if fmt == "json":
        import json

        data: Any = results[0] if len(results) == 1 else results
        if results or not failed:
            write_output(json.dumps(data, ensure_ascii=False, indent=2), output)
    elif results:
        write_output(render_table(results), output, terminal=True)
    if failed:
        raise typer.Exit(EXIT_INPUT)


def _date_text(d: dict[str, Any]) -> str:
    kinds = {"recurring": "周期", "relative": "相对时间"}
    return d["date"] or kinds.get(d["kind"], "")


def render_table(results: list[dict[str, Any]], width: int = 110) -> str:
    """One rich table per plan: where, what kind, the words, the normalised value."""
    import io

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from ..report._common import visible

    def cell(text: str) -> Text:  # plan text: an ESC from the plan must not reach the terminal
        return Text(visible(text, keep_lines=False))

    buf = io.StringIO()
    console = Console(file=buf, width=width, highlight=False, no_color=True)
    for res in results:
        doc = res["document"]
        nt = sum(len(c["targets"]) for c in res["chunks"])
        nd = sum(len(c["deadlines"]) for c in res["chunks"])
        owners = {o for c in res["chunks"] for o in c["owners"]}
        empty = sum(1 for c in res["chunks"] if not (c["targets"] or c["deadlines"]))
        when = f"{doc['year']}年" if doc["year"] else (
            f"{doc['period'][0]}—{doc['period'][1]}年" if doc["period"] else "未注明"
        )
        table = Table(
            title=escape(visible(f"可考核内容 {doc['path']}（规划年度：{when}）", keep_lines=False)),
            title_justify="left",
            expand=False,
        )
        table.add_column("片段", no_wrap=True)
        table.add_column("位置", max_width=28)
        table.add_column("类别", no_wrap=True)
        table.add_column("原文", max_width=34)
        table.add_column("规范化", max_width=30)
        for c in res["chunks"]:
            loc = cell(c["location"]["label"] or c["chunk_id"])
            for t in c["targets"]:
                norm = f"{t['value']}{'-' + str(t['upper']) if t['upper'] is not None else ''}"
                norm += f" {t['unit']}"
                if t["comparator"]:
                    norm += f"（{t['comparator']}）"
                if t["measured"]:
                    norm += f" · {t['measured']}"
                table.add_row(c["chunk_id"], loc, "目标", cell(t["text"]), cell(norm))
            for d in c["deadlines"]:
                table.add_row(c["chunk_id"], loc, "时间", cell(d["text"]), cell(_date_text(d)))
            for o in c["owner_details"]:
                table.add_row(c["chunk_id"], loc, "责任", cell(o["name"]), Text(o["role"] or "—"))
        console.print(table)
        console.print(
            f"  目标 {nt} 项 · 时间节点 {nd} 项 · 责任单位 {len(owners)} 个；"
            f"{len(res['chunks'])} 个片段中 {empty} 个既无量化目标也无时间节点\n"
        )
    return buf.getvalue()
