"""The rules of `align check` without a baseline: the state of each plan is judged (statuses
that fail, required tasks, evidence that must be assessable, minimum covered share per set).

Plain functions over ``Report`` objects, so the rules can be tested without a model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import AlignError
from ..findings import (
    RULE_ASSESSABLE,
    RULE_INPUT,
    RULE_MIN_SHARE,
    RULE_REQUIRED,
    RULE_STATUS,
    RULE_UNKNOWN_TASK,
    AlignConfig,
    CheckResult,
    Level,
    Violation,
    display_path,
)
from ..types import Report, TaskResult
from ..vocab import STATUS_ZH, VERDICT_ZH
from .evidence import evidence_where, iter_tasks


def error_violation(err: AlignError) -> Violation:
    """An unreadable plan, as a violation, so CI formats show it next to the rule results."""
    return Violation(
        rule=RULE_INPUT,
        task_id=None,
        set_id=None,
        path=display_path(err.path) if err.path else "",
        message_zh=err.message,
        line=err.line,
        level="error",
    )



def plan_violations(report: Report, config: AlignConfig) -> list[Violation]:
    path = display_path(report.document.path)
    out: list[Violation] = []
    required = set(config.required)
    for set_id, _set_title, t in iter_tasks(report):
        line, page = evidence_where(t)
        common = dict(
            task_id=t.id, set_id=set_id, path=path, title=t.title, status=t.status,
            score=t.score, line=line, page=page,
        )
        if t.id in required and t.status != "covered":
            out.append(
                Violation(
                    rule=RULE_REQUIRED,
                    message_zh=(
                        f"必备任务「{t.title}」为{STATUS_ZH[t.status]}（置信度 {t.score:.0f}），"
                        f"配置要求已覆盖 (required task is {t.status})"
                        + (f"：{t.reason}" if t.reason else "")
                    ),
                    level="error",
                    **common,  # type: ignore[arg-type]
                )
            )
            continue  # one violation per task: the stricter rule already says it
        v = _assessable_violation(t, config, common)
        if v is not None:
            out.append(v)
        level: Level | None = None
        if t.status in config.fail_on:
            level = "error"
        elif t.status in config.report_on:
            level = "warning"
        if level:
            out.append(
                Violation(
                    rule=RULE_STATUS,
                    message_zh=(
                        f"任务「{t.title}」{STATUS_ZH[t.status]}（置信度 {t.score:.0f}）"
                        f" (task is {t.status})" + (f"：{t.reason}" if t.reason else "")
                    ),
                    level=level,
                    **common,  # type: ignore[arg-type]
                )
            )
    for s in report.policy_sets:
        need = config.min_share_for(s.id)
        if need is None or not s.tasks:
            continue
        share = s.summary["covered"] / len(s.tasks)
        if share + 1e-9 < need:
            out.append(
                Violation(
                    rule=RULE_MIN_SHARE,
                    task_id=None,
                    set_id=s.id,
                    path=path,
                    title=s.title,
                    message_zh=(
                        f"政策集「{s.title}」已覆盖 {s.summary['covered']}/{len(s.tasks)} 项"
                        f"（{share:.0%}），低于要求的 {need:.0%} (covered share below minimum)"
                    ),
                    level="error",
                )
            )
    return out


ALL_COVERED = "all-covered"


def _assessable_violation(
    t: TaskResult, config: AlignConfig, common: dict[str, Any]
) -> Violation | None:
    """``require_assessable``: the task's supporting passages must give a quantified target and
    a time node. Listed tasks always; with "all-covered", every covered task."""
    want = config.require_assessable
    if not want or not (t.id in want or (ALL_COVERED in want and t.status == "covered")):
        return None
    a = t.assessable
    if a is not None and a.verdict == "assessable":
        return None
    verdict = a.verdict if a is not None else "vague"
    lacks = (
        "缺少量化目标" if a is not None and a.deadlines else
        "缺少时间节点" if a is not None and a.targets else "缺少量化目标和时间节点"
    )
    return Violation(
        rule=RULE_ASSESSABLE,
        message_zh=(
            f"任务「{t.title}」的证据{VERDICT_ZH[verdict]}：{lacks}，配置要求可考核"
            f" (task evidence is {verdict}: no target and time node)"
        ),
        level="error",
        **common,
    )


def _unknown_required(reports: Sequence[Report], config: AlignConfig) -> list[Violation]:
    """A required task id no report knows is a config typo; say so instead of passing."""
    if not reports or not (config.required or config.require_assessable):
        return []
    known = {t.id for r in reports for _s, _st, t in iter_tasks(r)}
    src = str(config.source) if config.source else ""
    unknown_assess = [
        Violation(
            rule=RULE_UNKNOWN_TASK,
            task_id=tid,
            set_id=None,
            path=src,
            message_zh=(
                f"配置 require_assessable 中的任务 {tid!r} 不在所选政策集中 (task id not found)"
            ),
            level="error",
        )
        for tid in config.require_assessable
        if tid != ALL_COVERED and tid not in known
    ]
    return unknown_assess + [
        Violation(
            rule=RULE_UNKNOWN_TASK,
            task_id=tid,
            set_id=None,
            path=src,
            message_zh=f"配置的必备任务 {tid!r} 不在所选政策集中 (required task id not found)",
            level="error",
        )
        for tid in config.required
        if tid not in known
    ]


def evaluate(
    reports: Sequence[Report],
    config: AlignConfig,
    errors: Sequence[AlignError] = (),
) -> CheckResult:
    """Judge the current state of every plan against the rules in ``config``."""
    out: list[Violation] = [error_violation(e) for e in errors]
    for r in reports:
        out.extend(plan_violations(r, config))
    out.extend(_unknown_required(reports, config))
    return CheckResult(tuple(out), mode="rules", config=config, input_errors=len(errors))
