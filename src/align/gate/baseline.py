"""Baselines: record each task's status, score and evidence, and fail a later check only for
what regressed against it, so a pull request is failed for the tasks it dropped or weakened, not
for gaps the plan already had."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import AlignError, InputError
from ..findings import (
    RULE_EVIDENCE_LOST,
    RULE_MODEL_CHANGED,
    RULE_NO_BASELINE,
    RULE_REGRESSED,
    RULE_SCORE_DROP,
    RULE_TASK_GONE,
    STATUS_RANK,
    AlignConfig,
    CheckResult,
    Violation,
    display_path,
)
from ..types import Chunk, ModelInfo, Report, TaskResult
from ..vocab import STATUS_ZH
from .evidence import (
    evidence_where,
    iter_tasks,
    norm,
    passage_json,
    snippet,
    supporting_passages,
    top,
)
from .rules import error_violation, plan_violations

BASELINE_SCHEMA = "align-baseline/1"


def scores_identity(model: ModelInfo) -> str:
    """Which vectors the scores came from: ONNX Runtime's verified fp32 export names the torch
    path it reproduces (``same_vectors_as``), so a baseline made with one backend still compares
    scores with the other; anything else is its own cache fingerprint."""
    same = model.extra.get("same_vectors_as")
    return same if isinstance(same, str) and same else model.fingerprint


def make_baseline(reports: Sequence[Report], root: Path | None = None) -> dict[str, Any]:
    """The ``align-baseline/1`` object: per plan path, per task status and score (and where its
    best evidence was, so a regression message can say what went missing). Deterministic: no
    timestamps, sorted keys, so the file diffs cleanly in git."""
    docs: dict[str, Any] = {}
    model: dict[str, str] = {}
    for r in reports:
        model = {"name": r.model.name, "fingerprint": scores_identity(r.model),
                 "calibration": r.model.calibration}
        support = supporting_passages(r)
        tasks: dict[str, Any] = {}
        for set_id, _title, t in iter_tasks(r):
            e = top(t)
            tasks[t.id] = {
                "set": set_id,
                "title": t.title,
                "status": t.status,
                "score": round(float(t.score), 4),
                "evidence": (
                    {
                        "text": snippet(e.text, 80),
                        "line": e.location.line,
                        "page": e.location.page,
                        "heading": e.location.heading,
                    }
                    if e
                    else None
                ),
            }
            if t.id in support:
                tasks[t.id]["support"] = [passage_json(c) for c in support[t.id]]
        docs[display_path(r.document.path, root)] = {"sha256": r.document.sha256, "tasks": tasks}
    return {
        "schema": BASELINE_SCHEMA,
        "align_version": reports[0].align_version if reports else "",
        "model": model,
        "documents": dict(sorted(docs.items())),
    }


def dump_baseline(baseline: Mapping[str, Any]) -> str:
    return json.dumps(baseline, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


MAX_BASELINE_BYTES = 256 * 1024 * 1024


def load_baseline(path: Path) -> dict[str, Any]:
    """Read and sanity-check a baseline file; any problem is an InputError (exit 2)."""
    from ..fileio import NOT_FOUND, FileProblem, read_limited

    try:
        data = json.loads(read_limited(path, MAX_BASELINE_BYTES).decode("utf-8"))
    except FileProblem as e:
        if e.reason == NOT_FOUND:
            raise InputError("基线文件不存在 (baseline file not found)", path=str(path)) from None
        reason = "基线文件过大 (baseline file too large)" if e.too_large else e.reason
        raise InputError(f"无法读取基线文件 (cannot read baseline): {reason}", path=str(path)) from None
    except UnicodeDecodeError as e:
        raise InputError(f"无法读取基线文件 (cannot read baseline): {e}", path=str(path)) from None
    except json.JSONDecodeError as e:
        raise InputError(
            f"基线文件不是有效的 JSON (invalid JSON): {e.msg}", path=str(path), line=e.lineno
        ) from None
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
        raise InputError(
            f"不是 {BASELINE_SCHEMA} 基线文件 (not an align baseline; create one with `align baseline`)",
            path=str(path),
        )
    docs = data.get("documents")
    if not isinstance(docs, dict) or not all(
        isinstance(d, dict) and isinstance(d.get("tasks"), dict) for d in docs.values()
    ):
        raise InputError("基线文件缺少 documents/tasks (baseline has no documents)", path=str(path))
    return data


def _match_document(path: str, docs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if path in docs:
        return docs[path]
    # same file named differently (absolute vs relative): match on the normalised path
    norm = display_path(path)
    for k, v in docs.items():
        if display_path(k) == norm:
            return v
    return None


def compare_to_baseline(
    reports: Sequence[Report],
    baseline: Mapping[str, Any],
    config: AlignConfig,
    errors: Sequence[AlignError] = (),
) -> CheckResult:
    """Regressions only: a task whose status fell (covered -> partial/missing, partial ->
    missing), whose score fell by more than ``config.regression_margin``, or that lost more
    than ``config.evidence_margin`` of its supporting passages (at least two). A plan the baseline
    does not know is new work and is judged by the ordinary rules."""
    out: list[Violation] = [error_violation(e) for e in errors]
    docs = baseline.get("documents", {})
    base_model = baseline.get("model") or {}
    for r in reports:
        path = display_path(r.document.path)
        doc = _match_document(r.document.path, docs)
        if doc is None:
            out.append(
                Violation(
                    rule=RULE_NO_BASELINE,
                    task_id=None,
                    set_id=None,
                    path=path,
                    message_zh="基线中没有此规划，按配置规则检查 (not in baseline; rules applied)",
                    level="notice",
                )
            )
            out.extend(plan_violations(r, config))
            continue
        changed = _model_changed(r, base_model, path)
        if changed is not None:
            out.append(changed)
        out.extend(_plan_regressions(r, doc["tasks"], config, path, compare_scores=changed is None))
    return CheckResult(tuple(out), mode="baseline", config=config, input_errors=len(errors))


def _model_changed(r: Report, base_model: Mapping[str, Any], path: str) -> Violation | None:
    """A warning when the baseline's scores came from another model or calibration: scores
    from different models are not comparable, so only statuses are then compared."""
    fp = base_model.get("fingerprint")
    cal = base_model.get("calibration")
    if not base_model or not (
        base_model.get("name") != r.model.name
        or (fp and r.model.fingerprint and fp != scores_identity(r.model))
        # confidences from another calibration are on another footing (and older baselines,
        # without a calibration, were made on the pre-confidence scale)
        or cal != r.model.calibration
    ):
        return None
    return Violation(
        rule=RULE_MODEL_CHANGED,
        task_id=None,
        set_id=None,
        path=path,
        message_zh=(
            f"基线由模型 {base_model.get('name')}（校准 {cal or '旧版'}）生成，本次为 "
            f"{r.model.name}（校准 {r.model.calibration}），只比较状态"
            " (baseline used another model or calibration; only statuses compared)"
        ),
        level="warning",
    )


def _plan_regressions(
    r: Report, base_tasks: Mapping[str, Any], config: AlignConfig, path: str, *,
    compare_scores: bool,
) -> list[Violation]:
    """One plan against its baseline entry: every task that regressed, then every baseline
    task no longer scored."""
    out: list[Violation] = []
    support = supporting_passages(r) if compare_scores else {}
    seen: set[str] = set()
    for set_id, _title, t in iter_tasks(r):
        seen.add(t.id)
        b = base_tasks.get(t.id)
        if not isinstance(b, dict) or b.get("status") not in STATUS_RANK:
            continue  # task new since the baseline: nothing to regress from
        v = _task_regression(t, set_id, b, path, config, support.get(t.id), compare_scores)
        if v is not None:
            out.append(v)
    for tid, b in base_tasks.items():
        if tid not in seen and isinstance(b, dict):
            out.append(
                Violation(
                    rule=RULE_TASK_GONE,
                    task_id=tid,
                    set_id=b.get("set"),
                    path=path,
                    title=b.get("title", ""),
                    message_zh=(
                        f"基线中的任务「{b.get('title', tid)}」本次未参与评分（政策集是否变更？）"
                        " (task in baseline was not scored)"
                    ),
                    level="warning",
                    before_status=b.get("status"),
                    before_score=b.get("score"),
                )
            )
    return out


def _task_regression(
    t: TaskResult, set_id: str, b: Mapping[str, Any], path: str, config: AlignConfig,
    support: Sequence[Chunk] | None, compare_scores: bool,
) -> Violation | None:
    """The one violation a task earns against its baseline entry ``b``: its status fell, else
    its score fell by more than the margin, else most of its supporting passages are gone."""
    b_status, b_score = b["status"], float(b.get("score", 0.0))
    line, page = evidence_where(t)
    was = ""
    bev = b.get("evidence")
    if isinstance(bev, dict) and bev.get("text"):
        where = f"第{bev['line']}行" if bev.get("line") else (bev.get("heading") or "")
        was = f"；原证据{('（' + where + '）') if where else ''}：“{snippet(bev['text'])}”"
    common: dict[str, Any] = dict(
        task_id=t.id, set_id=set_id, path=path, title=t.title, status=t.status,
        score=t.score, before_status=b_status, before_score=b_score,
        line=line if t.status != "missing" else None, page=page, level="error",
    )
    if STATUS_RANK[t.status] < STATUS_RANK[b_status]:
        return Violation(
            rule=RULE_REGRESSED,
            message_zh=(
                f"任务「{t.title}」由{STATUS_ZH[b_status]}降为{STATUS_ZH[t.status]}"
                f"（置信度 {b_score:.0f} → {t.score:.0f}）{was}"
                f" (regressed: {b_status} -> {t.status})"
            ),
            **common,
        )
    lost_msg = None
    if support is not None and isinstance(b.get("support"), list):
        lost_msg = _evidence_lost(b["support"], support, config.evidence_margin)
    margin = config.regression_margin
    if compare_scores and b_score - t.score > margin + 1e-9:
        return Violation(
            rule=RULE_SCORE_DROP,
            message_zh=(
                f"任务「{t.title}」置信度由 {b_score:.0f} 降至 {t.score:.0f}，"
                f"降幅超过允许的 {margin:g}"
                + (f"；支撑段落{lost_msg[len('的支撑段落'):]}" if lost_msg else was)
                + " (score fell by more than the margin)"
            ),
            **common,
        )
    if lost_msg:
        return Violation(
            rule=RULE_EVIDENCE_LOST,
            message_zh=f"任务「{t.title}」{lost_msg} (most supporting passages are gone)",
            **common,
        )
    return None


def _evidence_lost(before: list[Any], now: Sequence[Chunk], margin: float) -> str | None:
    """Chinese sentence when more than ``margin`` of the baseline's supporting passages (and at
    least two) are gone, naming a few of them; None otherwise."""
    n_before, n_now = len(before), len(now)
    lost = n_before - n_now
    if lost < 2 or lost / max(n_before, 1) <= margin + 1e-9:
        return None
    current = {norm(snippet(c.text, 60)) for c in now}
    gone = [p for p in before if isinstance(p, dict) and norm(str(p.get("text", ""))) not in current]
    named = "、".join(
        (f"第{p['line']}行" if p.get("line") else (f"第{p['page']}页" if p.get("page") else ""))
        + f"“{snippet(str(p.get('text', '')), 24)}”"
        for p in gone[:3]
    )
    more = f"等 {len(gone)} 段" if len(gone) > 3 else ""
    return (
        f"的支撑段落由 {n_before} 段减至 {n_now} 段（超过允许的 {margin:.0%}）"
        + (f"；不再支撑的段落：{named}{more}" if named else "")
    )
