"""`align batch`: many plans as one resumable job with an overview (reports.jsonl, summary.csv,
summary.xlsx, index.html); `--engine ray` spreads the plans over a Ray cluster."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ._app import app
from ._common import (
    BackendOption,
    EncodingOption,
    MaxSizeOption,
    ModelOption,
    NoCacheOption,
    PolicyOption,
    SetOption,
    err_console,
    handle_errors,
    print_error,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..batch.job import Plan

ENGINES = ("local", "ray")


class RichBatchProgress:
    """One display: a bar over plans (done / total, plans per minute, ETA) and, under it, the
    current plan's chunks being embedded. Nothing at all when stderr is not a terminal."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task: Any) -> Text:
                if not task.fields.get("rate") or not task.speed:
                    return Text("")
                return Text(f"{task.speed * 60:.1f} 份/分钟")

        self._p = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TimeRemainingColumn(),
            console=err_console(),
            transient=True,
        )
        self._plans = self._p.add_task("规划 plans", total=None, rate=True)
        self._chunks = self._p.add_task("", total=None, visible=False, rate=False)

    def __enter__(self) -> RichBatchProgress:
        self._p.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._p.stop()

    def start(self, total: int, skipped: int) -> None:
        # resumed plans count as done but not into the rate (they took no time)
        self._p.update(self._plans, total=total - skipped, completed=0)

    def plan_started(self, plan: Plan) -> None:
        self._p.update(self._chunks, description=f"  {plan.name}", completed=0, total=None,
                       visible=True)

    def chunks(self, done: int, total: int) -> None:
        self._p.update(self._chunks, completed=done, total=total)

    def plan_done(self, plan: Plan, ok: bool) -> None:
        self._p.advance(self._plans, 1)
        self._p.update(self._chunks, visible=False)


@app.command()
@handle_errors
def batch(
    paths: list[Path] = typer.Argument(
        None, help="规划文件或目录（可多个）。Plan files or directories."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="输出目录（可续跑）。Output folder (the job; reruns resume it)."
    ),
    summarize: Path = typer.Option(
        None,
        "--summarize",
        help="只从 OUTDIR/reports.jsonl 重写总览。Only rewrite the overview of OUTDIR from its reports.jsonl.",
    ),
    fresh: bool = typer.Option(
        False, "--fresh", help="不续跑，从头开始。Start over instead of resuming."
    ),
    engine: str = typer.Option(
        "local", "--engine", help="执行引擎 Engine: local | ray."
    ),
    ray_address: str = typer.Option(
        None,
        "--ray-address",
        help="已有 Ray 集群的地址（默认启动本机 Ray）。Address of an existing Ray cluster (default: a local one).",
    ),
    actors: int = typer.Option(
        None,
        "--actors",
        min=1,
        help="Ray 嵌入 actor 数（默认每个 CPU 一个）。Embedding actors on Ray (default: one per CPU).",
    ),
    ray_cpus: int = typer.Option(
        None,
        "--ray-cpus",
        min=1,
        help="本机 Ray 使用的 CPU 数（默认全部）。CPUs for the local Ray (default: all).",
    ),
    policy: list[Path] = PolicyOption,
    sets: list[str] = SetOption,
    model: str = ModelOption,
    backend: str = BackendOption,
    no_cache: bool = NoCacheOption,
    encoding: str = EncodingOption,
    max_size: float = MaxSizeOption,
) -> None:
    """批量评分：一批规划 × 政策任务总览，可中断续跑。Score many plans as one resumable job.

    写入 OUTDIR/reports.jsonl（每份规划一行，完成即写入）、summary.csv、summary.xlsx、
    index.html 和 reports/ 下每份规划的报告页。再次运行同一命令只评分尚未完成的规划。
    \f
    Long: half of it is the typer signature (eleven options); the body is the wiring.
    """
    from ..errors import AlignError

    if summarize is not None:
        if paths or out is not None:
            raise AlignError("--summarize 不能与规划路径或 --out 同时使用 (--summarize takes only OUTDIR)")
        from ..batch import write_overview

        written = write_overview(summarize)
        err_console().print(f"已写入 wrote: {', '.join(str(p) for p in written)}")
        return
    _check_options(paths, out, engine, ray_address, actors, ray_cpus)

    from ..batch import run_batch
    from ..pipeline import make_scorer

    scorer = make_scorer(
        policy, sets, model, no_cache, progress=False, max_size=max_size, backend=backend
    )
    runner: Any = None
    if engine == "ray":
        runner = _ray_engine(scorer, backend, ray_address, actors, ray_cpus, model, policy, sets,
                             no_cache, encoding)
    console = err_console()
    display: Any = RichBatchProgress() if console.is_terminal else None
    try:
        if display is not None:
            display.__enter__()
        result = run_batch(
            paths, out, scorer, engine=runner, fresh=fresh, encoding=encoding, progress=display
        )
    finally:
        if display is not None:
            display.__exit__(None, None, None)
        if runner is not None:
            runner.close()
    for line in result.errors:
        print_error(line)
    console.print(
        f"完成 done：评分 {result.scored} 份，沿用已有结果 {result.skipped} 份，失败 {result.failed} 份"
        f"（共 {result.total} 份，{result.seconds:.1f} 秒）；总览 overview: {out / 'index.html'}"
    )
    if result.errors:
        raise typer.Exit(2)


def _check_options(
    paths: list[Path] | None, out: Path | None, engine: str, ray_address: str | None,
    actors: int | None, ray_cpus: int | None,
) -> None:
    """The option combinations `align batch` refuses, each as one error line."""
    from ..errors import AlignError

    if not paths:
        raise AlignError("请给出规划文件或目录 (no plan files or folders given)")
    if out is None:
        raise AlignError("请用 --out 指定输出目录 (--out OUTDIR is required)")
    if engine not in ENGINES:
        raise AlignError(f"未知的引擎 {engine!r}，可选：{' | '.join(ENGINES)} (unknown engine)")
    if engine != "ray" and (ray_address or actors or ray_cpus):
        raise AlignError(
            "--ray-address、--actors 和 --ray-cpus 只用于 --engine ray (only with --engine ray)"
        )
    if ray_address and ray_cpus:
        raise AlignError("--ray-cpus 只用于本机 Ray，不能与 --ray-address 同用 (local Ray only)")


def _ray_engine(
    scorer: Any, backend: str | None, ray_address: str | None, actors: int | None,
    ray_cpus: int | None, model: str | None, policy: list[Path] | None, sets: list[str] | None,
    no_cache: bool, encoding: str | None,
) -> Any:
    """The Ray engine for these options; the workers build their own scorers from them."""
    from ..batch.ray_engine import RayEngine

    if backend:
        import os

        from ..embed.e5.backend import BACKEND_ENV

        os.environ[BACKEND_ENV] = backend  # the Ray workers' scorers read it (local Ray inherits it)
    return RayEngine(
        address=ray_address,
        actors=actors,
        num_cpus=ray_cpus,
        model=model,
        policy_files=policy or (),
        set_ids=sets or None,
        cache=not no_cache,
        max_bytes=scorer.max_bytes,
        encoding=encoding,
    )
