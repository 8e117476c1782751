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
    from rich.table import Table
    from rich.text import Text

    from ..errors import AlignError
    from ..pipeline import make_scorer
    from ..report._common import STATUS_STYLE, status_text, visible
    from ..scoring.lexical import matched_terms

    scorer = make_scorer(policy, None, model, no_cache, max_size=max_size, backend=backend, calibration=calibration)
    tasks = {t.id: t for s in scorer.policy_sets for t in s.tasks}
    if task_id not in tasks:
        raise AlignError(f"没有编号为 {task_id} 的任务 (unknown task id); 可用：{', '.join(tasks)}")
    report = scorer.score_path(path, encoding=encoding)
    task = tasks[task_id]
    result = report.task(task_id)
    order = [t.id for s in report.policy_sets for t in s.tasks]
    row = report.matrix[order.index(task_id)] if report.matrix else ()
    ranked = sorted(range(len(row)), key=lambda i: -row[i])[:top]

    con = Console(highlight=False)
    con.print(Text.assemble((f"{task.id} {task.title}", "bold"), f"  （{report.document.path}）"))
    con.print(Text(status_text(result.status), style=STATUS_STYLE[result.status]), result.reason)
    th = result.threshold
    if th:
        ev_floor = th.evidence if th.evidence is not None else th.partial
        con.print(f"阈值 thresholds（置信度 0-100）：覆盖 covered ≥ {th.covered:.0f}，"
                  f"部分覆盖 partial ≥ {th.partial:.0f}，单段证据 evidence ≥ {ev_floor:.0f}"
                  f"（校准 {report.model.calibration}，模型 {report.model.name}）")
    terms = [*task.terms, *task.aliases]
    table = Table(show_lines=True)
    table.add_column("#", no_wrap=True)
    table.add_column("置信度", no_wrap=True)
    table.add_column("位置", max_width=18, overflow="fold")
    table.add_column("段落（命中词高亮）", ratio=1, overflow="fold")
    for rank, ci in enumerate(ranked, 1):
        chunk = report.chunks[ci]
        text = Text(visible(chunk.text))  # control characters from the plan shown, not sent
        hits = matched_terms(terms, chunk.text, scorer.index.term_words)
        for term in hits:
            text.highlight_words([term], style="bold reverse")
        floor = (th.evidence if th.evidence is not None else th.partial) if th else 101.0
        mark = "✔" if row[ci] >= floor else " "
        table.add_row(f"{rank}{mark}", f"{row[ci]:.0f}", Text(visible(chunk.location.label())), text)
    con.print(table)
    if result.sub_measures:
        con.print("[bold]具体举措 sub-measures[/bold]")
        for m in result.sub_measures:
            flag = "✔ 有证据" if m.evidenced else "✘ 无证据"
            where = f"（{m.evidence[0].location.label()}）" if m.evidence else ""
            con.print(f"  {flag}  {m.title}  置信度 {m.score:.0f}{where}")
    if not sys.stdout.isatty():
        sys.stdout.flush()
