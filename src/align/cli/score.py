"""`align score` and `align explain`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ._app import app
from ._common import (
    BackendOption,
    CalibrationOption,
    EncodingOption,
    MaxSizeOption,
    ModelOption,
    NoCacheOption,
    OutputOption,
    PolicyOption,
    QuietOption,
    SetOption,
    VerboseOption,
    handle_errors,
    resolve_format,
    write_output,
)
from ._inputs import NameOption

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline import Scorer
    from ..types import Report

SCORE_FORMATS = ("table", "json", "jsonl", "markdown", "html")


def score_with_progress(
    scorer: Scorer, paths: list[Path], encoding: str | None, name: str | None = None
) -> tuple[list[Report], int]:
    """Score every plan, printing one error line per bad file; returns reports and #failures."""
    from ._inputs import score_inputs

    reports, errors = score_inputs(scorer, paths, encoding, name=name)
    return reports, len(errors)


@app.command()
@handle_errors
def score(
    paths: list[Path] = typer.Argument(..., help="规划文件或目录。Plan files or directories."),
    policy: list[Path] = PolicyOption,
    sets: list[str] = SetOption,
    model: str = ModelOption,
    backend: str = BackendOption,
    fmt: str = typer.Option(
        None,
        "--format",
        "-f",
        help=(
            "输出格式：table（默认）| json | jsonl | markdown | html；未给出时按 -o 的扩展名推断。"
            " Output format (default table, or what -o's extension names)."
        ),
    ),
    output: Path = OutputOption,
    name: str = NameOption,
    no_cache: bool = NoCacheOption,
    encoding: str = EncodingOption,
    max_size: float = MaxSizeOption,
    calibration: Path = CalibrationOption,
    quiet: bool = QuietOption,
    verbose: bool = VerboseOption,
) -> None:
    """对照政策任务为规划评分。Score plans against the policy tasks (coverage report with evidence).

    路径 - 从标准输入读取规划。`-` reads a plan from standard input.
    """
    from ..pipeline import make_scorer
    from ..report import get_formatter

    fmt = resolve_format(fmt, output, SCORE_FORMATS, "table")
    scorer = make_scorer(policy, sets, model, no_cache, max_size=max_size, backend=backend, calibration=calibration)
    reports, failures = score_with_progress(scorer, paths, encoding, name)
    if reports:
        formatter = get_formatter(fmt)
        if fmt == "table" and output is None:
            from rich.console import Console

            console = Console(highlight=False)
            if not console.is_terminal:  # piped: a fixed width that fits Chinese columns
                console = Console(highlight=False, width=100)
            formatter.render(reports, console)  # type: ignore[attr-defined]
        else:
            write_output(formatter.format(reports), output)
    if failures:
        raise typer.Exit(2)


@app.command()
@handle_errors
def explain(
    path: Path = typer.Argument(..., help="规划文件。A plan file."),
    task_id: str = typer.Argument(..., help="任务编号，如 tzpy-04。Task id, e.g. tzpy-04."),
    policy: list[Path] = PolicyOption,
    model: str = ModelOption,
    backend: str = BackendOption,
    top: int = typer.Option(8, "--top", "-n", help="显示前 N 段证据。Show the top N passages."),
    no_cache: bool = NoCacheOption,
    encoding: str = EncodingOption,
    max_size: float = MaxSizeOption,
    calibration: Path = CalibrationOption,
) -> None:
    """解释某项任务的得分与证据。Explain one task's status: ranked evidence and thresholds."""
    from rich.console import Console

    from ..errors import AlignError
    from ..pipeline import make_scorer
    from ..report.explain import render_explain

    scorer = make_scorer(policy, None, model, no_cache, max_size=max_size, backend=backend, calibration=calibration)
    tasks = {t.id: t for s in scorer.policy_sets for t in s.tasks}
    if task_id not in tasks:
        raise AlignError(f"没有编号为 {task_id} 的任务 (unknown task id); 可用：{', '.join(tasks)}")
    report = scorer.score_path(path, encoding=encoding)
    render_explain(report, tasks[task_id], Console(highlight=False), top=top,
                   words_of=scorer.index.term_words)
    if not sys.stdout.isatty():
        sys.stdout.flush()
