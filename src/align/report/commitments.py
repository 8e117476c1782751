"""`align targets`: a plan's commitments (targets, time nodes, owners) per chunk, as JSON or a
table of what kind, the words and the normalised value."""

from __future__ import annotations

from typing import Any

from ..types import Chunk, Document, location_dict, target_dict
from ._common import visible


def commitments_json(doc: Document, chunks: list[Chunk] | tuple[Chunk, ...]) -> dict[str, Any]:
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
                "location": {"label": c.location.label(), **location_dict(c.location)},
                "text": c.text,
                "targets": [
                    {**target_dict(t), "start": base + t.start, "end": base + t.end}
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
