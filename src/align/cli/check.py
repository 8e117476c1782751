"""`align check`, `align baseline` and `align diff`: the CI gate for plan drafts.

Exit codes: 0 passed, 1 a rule failed (or a task regressed against the baseline), 2 input,
configuration or usage error. Heavy modules load inside the command bodies.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ._app import app
from ._common import (
    EXIT_INPUT,
    OutputOption,
    ScoringArgs,
    handle_errors,
    resolve_format,
    scoring_options,
    warn,
    write_output,
)
from ._inputs import NameOption

if TYPE_CHECKING:  # pragma: no cover
    from ..errors import AlignError
    from ..findings import AlignConfig
    from ..pipeline import Scorer
    from ..types import Report

CHECK_FORMAT_NAMES = ("text", "github", "sarif", "junit", "json")
DIFF_FORMAT_NAMES = ("table", "json", "markdown")

ConfigOption = typer.Option(
    None,
    "--config",
    "-c",
    help="配置文件（默认向上查找 align.toml 或 pyproject.toml 的 \\[tool.align]）。"
    " Config file (default: nearest align.toml or pyproject.toml with \\[tool.align]).",
)
PathsArgument = typer.Argument(..., help="规划文件或目录。Plan files or directories.")
BaselineOption = typer.Option(
    None, "--baseline", "-b",
    help="基线文件：只在相对基线退步时失败。Baseline file: fail only on regressions against it.",
)
NoBaselineOption = typer.Option(
    False, "--no-baseline", help="忽略配置中的基线。Ignore the baseline named in the config."
)
CheckFormatOption = typer.Option(
    None, "--format", "-f",
    help="输出格式：text（默认）| github | sarif | junit | json；未给出时按 -o 的扩展名推断"
    "（.sarif、.xml、.json）。Output format (default text, or what -o's extension names).",
)
BaselineOutputOption = typer.Option(
    None, "--output", "-o",
    help="基线文件（默认为配置中的 baseline，否则标准输出）。"
    " Baseline file (default: the config's baseline, else stdout).",
)
OldArgument = typer.Argument(..., help="旧版规划（或 git 的 REV:PATH）。Old plan, or REV:PATH from git.")
NewArgument = typer.Argument(..., help="新版规划（或 REV:PATH）。New plan, or REV:PATH.")
DiffFormatOption = typer.Option(
    None, "--format", "-f",
    help="输出格式：table（默认）| json | markdown；未给出时按 -o 的扩展名推断。"
    " Output format (default table, or what -o's extension names).",
)
AllTasksOption = typer.Option(
    False, "--all", help="也列出没有变化的任务。Also list tasks that did not change."
)


def _config(config_path: Path | None, opts: ScoringArgs) -> AlignConfig:
    """The config file's rules, with the command line's policies, sets and model on top."""
    from ..gate.config import load_config, with_overrides

    cfg = load_config(config_path)
    return with_overrides(
        cfg,
        policies=(*cfg.policies, *opts.policy) if opts.policy else None,
        sets=tuple(opts.sets) if opts.sets else None,
        model=opts.model,
    )


def _scorer(cfg: AlignConfig, opts: ScoringArgs) -> Scorer:
    from ..pipeline import make_scorer

    return make_scorer(cfg.policies, cfg.sets, cfg.model, opts.no_cache, max_size=opts.max_size,
                       backend=opts.backend, calibration=opts.calibration)


def _score(cfg: AlignConfig, opts: ScoringArgs, paths: list[Path], name: str | None
           ) -> tuple[list[Report], list[AlignError]]:
    from ._inputs import score_inputs

    return score_inputs(_scorer(cfg, opts), paths, opts.encoding, name=name)


@app.command()
@handle_errors
@scoring_options
def check(
    paths: list[Path] = PathsArgument,
    config_path: Path = ConfigOption,
    baseline: Path = BaselineOption,
    no_baseline: bool = NoBaselineOption,
    fmt: str = CheckFormatOption,
    output: Path = OutputOption,
    name: str = NameOption,
    *,
    opts: ScoringArgs,
) -> None:
    """按配置规则检查规划（CI 用）。Check plans against the configured rules (for CI).

    退出码 exit: 0 通过 passed, 1 规则未通过 a rule failed, 2 输入/配置错误 input error.
    """
    from ..gate.baseline import compare_to_baseline, load_baseline
    from ..gate.rules import evaluate
    from ..report.check_formats import get_check_formatter

    fmt = resolve_format(fmt, output, CHECK_FORMAT_NAMES, "text")
    cfg = _config(config_path, opts)
    base_path = baseline
    if base_path is None and not no_baseline and cfg.baseline is not None:
        if cfg.baseline.is_file():
            base_path = cfg.baseline
        else:
            warn(f"配置的基线文件不存在，按规则检查 (configured baseline not found): {cfg.baseline}")
    base = load_baseline(base_path) if base_path is not None else None  # fail fast, before scoring

    reports, errors = _score(cfg, opts, paths, name)
    if base is not None:
        result = compare_to_baseline(reports, base, cfg, errors)
    else:
        result = evaluate(reports, cfg, errors)

    formatter = get_check_formatter(fmt)
    write_output(formatter.format(result, reports), output, terminal=fmt == "text")
    if fmt == "github":
        from ..report.github import append_step_summary

        append_step_summary(result, reports)
    raise typer.Exit(result.exit_code)


@app.command("baseline")
@handle_errors
@scoring_options
def baseline_cmd(
    paths: list[Path] = PathsArgument,
    output: Path = BaselineOutputOption,
    name: str = NameOption,
    config_path: Path = ConfigOption,
    *,
    opts: ScoringArgs,
) -> None:
    """记录当前各任务的状态与得分，作为 `align check --baseline` 的比较基准。
    Record per-task statuses and scores as a baseline for `align check --baseline`."""
    from ..gate.baseline import dump_baseline, make_baseline

    cfg = _config(config_path, opts)
    reports, errors = _score(cfg, opts, paths, name)
    if errors:
        # a baseline without one of the plans would let that plan regress unnoticed
        raise typer.Exit(EXIT_INPUT)
    target = output or cfg.baseline
    write_output(dump_baseline(make_baseline(reports)), target)
    if target is not None:
        n = sum(len(s.tasks) for r in reports for s in r.policy_sets)
        warn(f"已写入基线 {target}：{len(reports)} 份规划，{n} 项任务 (baseline written)")


@app.command()
@handle_errors
@scoring_options
def diff(
    old: str = OldArgument,
    new: str = NewArgument,
    fmt: str = DiffFormatOption,
    all_tasks: bool = AllTasksOption,
    output: Path = OutputOption,
    config_path: Path = ConfigOption,
    *,
    opts: ScoringArgs,
) -> None:
    """比较两版规划：各任务状态、得分与证据的变化。
    Compare two versions of a plan: per-task status, score and evidence before and after."""
    from .. import ui
    from ..gate.diff import diff_reports
    from ..gate.git import materialise
    from ..report.diff import diff_json, diff_markdown, diff_table

    fmt = resolve_format(fmt, output, DIFF_FORMAT_NAMES, "table")
    cfg = _config(config_path, opts)
    with tempfile.TemporaryDirectory(prefix="align-diff-") as tmp:
        old_p, new_p = materialise(old, Path(tmp)), materialise(new, Path(tmp))
        scorer = _scorer(cfg, opts)
        with ui.live(), ui.stage("评分 scoring", total=2) as bar:
            old_r = scorer.score_path(old_p, encoding=opts.encoding)
            bar.advance()
            new_r = scorer.score_path(new_p, encoding=opts.encoding)
    # name the inputs as the user gave them, not the temp files
    from dataclasses import replace

    old_r = replace(old_r, document=replace(old_r.document, path=old))
    new_r = replace(new_r, document=replace(new_r.document, path=new))
    result = diff_reports(old_r, new_r)
    if fmt == "json":
        text = diff_json(result)
    elif fmt == "markdown":
        text = diff_markdown(result, all_tasks=all_tasks)
    else:
        text = diff_table(result, all_tasks=all_tasks)
    write_output(text, output, terminal=fmt == "table")
