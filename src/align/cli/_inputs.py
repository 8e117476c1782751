"""Scoring the plans a command was given: files, folders and ``-`` (standard input), under the
run's one progress display, with ``--verbose`` details. No heavy imports at module level."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ._common import print_error

if TYPE_CHECKING:  # pragma: no cover
    from ..errors import AlignError
    from ..pipeline import Scorer
    from ..types import Report

STDIN = "-"
DEFAULT_STDIN_NAME = "stdin.txt"

NameOption = typer.Option(
    None,
    "--name",
    help=(
        "从标准输入（路径 -）读取时，报告中使用的文件名；其扩展名决定读取方式（默认 stdin.txt）。"
        " With `-` (standard input): the file name shown in the report; its extension picks the"
        " reader (default stdin.txt)."
    ),
)


def check_stdin_args(paths: list[Path], name: str | None) -> None:
    from ..errors import AlignError

    n = sum(1 for p in paths if str(p) == STDIN)
    if n > 1:
        raise AlignError("标准输入 - 只能出现一次 (`-` may be given only once)")
    if name is not None and n == 0:
        raise AlignError("--name 只用于标准输入（路径 -）(--name applies to `-` only)")
    if n and sys.stdin.isatty():
        raise AlignError("路径 - 表示从标准输入读取，但标准输入是终端 (`-` reads standard input, "
                         "which is a terminal: pipe a plan in, e.g. `cat plan.txt | align score -`)")


def read_stdin(name: str | None, max_bytes: int | None) -> bytes:
    """All of standard input, refusing more than ``max_bytes`` (read while reading, not after)."""
    from ..errors import InputError
    from ..read import DEFAULT_MAX_BYTES

    limit = max_bytes or DEFAULT_MAX_BYTES
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"标准输入超过大小上限 {limit // (1024 * 1024) or 1} MB (input too large)",
                         path=name or DEFAULT_STDIN_NAME)
    return data


def score_inputs(
    scorer: Scorer,
    paths: list[Path],
    encoding: str | None,
    *,
    name: str | None = None,
    label: str = "评分 scoring",
) -> tuple[list[Report], list[AlignError]]:
    """Every plan scored, in the order given (``-`` where it stands); one error line per plan
    that could not be, and the others still scored."""
    from .. import ui
    from ..errors import AlignError

    check_stdin_args(paths, name)
    groups: list[list[Path] | None] = []  # None: standard input
    for p in paths:
        if str(p) == STDIN:
            groups.append(None)
        elif groups and groups[-1] is not None:
            groups[-1].append(p)
        else:
            groups.append([p])

    results: list[Report | AlignError] = []
    t0 = time.perf_counter()
    with ui.live(), ui.stage(label, total=None) as bar:
        for group in groups:
            if group is None:
                shown = name or DEFAULT_STDIN_NAME
                bar.update(description=f"{label} {shown}")
                try:
                    results.append(_score_stdin(scorer, shown, encoding))
                except AlignError as e:
                    results.append(e)
                continue

            def on_progress(i: int, n: int, path: str) -> None:
                bar.update(completed=i, total=n,
                           description=f"{label} {Path(path).name}" if path else label)

            shown = {"on_progress": on_progress} if bar else {}  # nothing to draw: no callback
            results.extend(scorer.score_paths(group, encoding=encoding, **shown))

    reports: list[Report] = []
    errors: list[AlignError] = []
    for r in results:
        if isinstance(r, AlignError):
            print_error(r)
            errors.append(r)
        else:
            reports.append(r)
    if reports and ui.verbosity() >= ui.VERBOSE:
        _details(scorer, reports, time.perf_counter() - t0)
    return reports, errors


def _score_stdin(scorer: Scorer, shown: str, encoding: str | None) -> Report:
    from ..read import read_bytes

    data = read_stdin(shown, scorer.max_bytes)
    kwargs = {"max_bytes": scorer.max_bytes} if scorer.max_bytes else {}
    doc = read_bytes(data, shown, encoding=encoding, **kwargs)
    return scorer.score_document(doc)


def _details(scorer: Scorer, reports: list[Report], seconds: float) -> None:
    from .. import ui

    for r in reports:
        d = r.document
        ui.detail(f"{d.path}：{d.chars} 字，{d.chunks} 个片段 ({d.chars} chars, {d.chunks} chunks)")
    m = reports[0].model
    stats = scorer.embedder.stats
    store = scorer.store
    where = str(store.path) if store is not None and getattr(store, "path", None) else "不使用 off"
    t = scorer.timings
    backend = f"，后端 backend {m.extra['backend']}" if m.extra.get("backend") else ""
    ui.detail(f"模型 model {m.name}（校准 calibration {m.calibration}{backend}）；缓存 cache {where}")
    ui.detail(f"嵌入 embedded {stats.embedded} 条，缓存命中 cache hits {stats.cache_hits} 条")
    ui.detail(
        f"用时 seconds：共 total {seconds:.2f}（准备 setup {t.setup:.2f}，读取 read {t.read:.2f}，"
        f"切分 chunk {t.chunk:.2f}，嵌入 embed {t.embed:.2f}，评分 score {t.score:.2f}）"
    )
