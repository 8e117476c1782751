"""`align cache info` and `align cache clear`: look at and empty the embedding cache."""

from __future__ import annotations

import json

import typer

from .._text import human_size
from ._app import app
from ._common import handle_errors, out_console, write_output

cache_app = typer.Typer(
    help="嵌入缓存：查看或清空。Inspect or clear the on-disk embedding cache.",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")


@cache_app.command("info")
@handle_errors
def info(
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出。Print JSON."),
) -> None:
    """显示缓存位置、大小和各模型条目数。Show where the cache is, its size and entries per model."""
    from ..embed.cache import EmbeddingCache

    data = EmbeddingCache().info()
    if as_json:
        write_output(json.dumps(data, ensure_ascii=False, indent=2), None)
        return
    from rich.table import Table

    console = out_console()
    console.print(f"缓存文件 cache file: {data['path']}")
    if not data["exists"]:
        console.print("缓存为空 (no cache yet)")
        return
    console.print(f"大小 size: {human_size(data['size_bytes'], trim=False)}  条目 entries: {data['entries']}")
    if data["models"]:
        table = Table(
            "模型 model", "维度 dim", "条目 entries", "向量大小 vectors", "指纹 fingerprint"
        )
        for m in data["models"]:
            table.add_row(
                m["name"] or "?",
                str(m["dim"]),
                str(m["entries"]),
                human_size(m["bytes"], trim=False),
                m["fingerprint"][:12],
            )
        console.print(table)
    for o in data.get("other", ()):
        label = _KIND_LABELS.get(o["kind"], o["kind"])
        console.print(f"{label}: {o['entries']} 条 entries, {human_size(o['bytes'], trim=False)}")


_KIND_LABELS = {
    "lexical": "词项权重 lexical term weights",
    "task-index": "任务索引 task indexes",
}


@cache_app.command("clear")
@handle_errors
def clear() -> None:
    """清空嵌入缓存。Delete every cached embedding."""
    from ..embed.cache import EmbeddingCache

    cache = EmbeddingCache()
    n = cache.clear()
    cache.close()
    typer.echo(f"已清除 {n} 条嵌入 (cleared {n} cached embeddings): {cache.path}")
