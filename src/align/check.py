"""The CI gate: apply the configured rules to scored reports, or compare them with a baseline.

Plain functions over ``Report`` objects, so the rules can be tested without a model and reused
by any front end. Output formats for a ``CheckResult`` live in ``align.report.check_formats``.

Two modes:

* ``evaluate``: the state of each plan is judged (statuses that fail, required tasks, minimum
  covered share per policy set).
* ``compare_to_baseline``: only what changed is judged, so a pull request is failed for the
  tasks it dropped or weakened, not for gaps the plan already had.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .config import AlignConfig
from .errors import AlignError, InputError
from .types import Chunk, Evidence, ModelInfo, Report, Status, TaskResult

Level = Literal["error", "warning", "notice"]
LEVELS: tuple[Level, ...] = ("error", "warning", "notice")
BASELINE_SCHEMA = "align-baseline/1"
STATUS_RANK: dict[str, int] = {"missing": 0, "partial": 1, "covered": 2}
STATUS_ZH: dict[str, str] = {"covered": "已覆盖", "partial": "部分覆盖", "missing": "未覆盖"}

# rule ids (stable: SARIF properties, JUnit failure types and docs refer to them)
RULE_STATUS = "status"  # a status listed in fail_on / report_on
RULE_REQUIRED = "required"  # a required task is not covered
RULE_ASSESSABLE = "assessable"  # a task's evidence gives no target and time node (可考核)
RULE_MIN_SHARE = "min-covered-share"  # too few tasks of a set are covered
RULE_UNKNOWN_TASK = "unknown-task"  # config names a task no report has
RULE_REGRESSED = "regressed"  # baseline: status fell
RULE_SCORE_DROP = "score-drop"  # baseline: score fell by more than the margin
RULE_EVIDENCE_LOST = "evidence-lost"  # baseline: most supporting passages are gone
RULE_TASK_GONE = "task-removed"  # baseline: task no longer scored (policy set changed)
RULE_NO_BASELINE = "no-baseline"  # baseline: document not in the baseline, judged by rules
RULE_MODEL_CHANGED = "model-changed"  # baseline: made with another model; scores not compared
RULE_INPUT = "input-error"  # a plan could not be read


@dataclass(frozen=True)
class Violation:
    rule: str
    task_id: str | None
    set_id: str | None
    path: str
    message_zh: str
    line: int | None = None
    level: Level = "error"
    title: str = ""  # task title (or set title for set-level rules)
    status: str | None = None  # current status, when about a task
    score: float | None = None
    before_status: str | None = None  # baseline mode
    before_score: float | None = None
    page: int | None = None  # PDF page of the evidence, when the plan is a PDF


@dataclass(frozen=True)
class CheckResult:
    violations: tuple[Violation, ...]
    mode: Literal["rules", "baseline"] = "rules"
    config: AlignConfig = field(default_factory=AlignConfig)
    input_errors: int = 0  # plans that could not be read (their violations have rule input-error)

    @property
    def failed(self) -> bool:
        """A rule failed (exit 1). Input errors are reported separately (exit 2)."""
        return any(v.level == "error" and v.rule != RULE_INPUT for v in self.violations)

    @property
    def exit_code(self) -> int:
        if self.input_errors:
            return 2
        return 1 if self.failed else 0

    def by_level(self, level: Level) -> list[Violation]:
        return [v for v in self.violations if v.level == level]

    def counts(self) -> dict[str, int]:
        return {lvl: len(self.by_level(lvl)) for lvl in LEVELS}

    def for_task(self, path: str, task_id: str) -> list[Violation]:
        return [v for v in self.violations if v.path == path and v.task_id == task_id]


# --------------------------------------------------------------------------- helpers


def display_path(path: str | os.PathLike[str], root: Path | None = None) -> str:
    """Path as CI tools want it: relative to ``root`` (default: working directory) when inside
    it, with forward slashes; otherwise unchanged."""
    p = Path(path)
    root = (root or Path.cwd()).resolve()
    try:
        return p.resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return p.as_posix()


def _top(t: TaskResult) -> Evidence | None:
    return t.evidence[0] if t.evidence else None


def _evidence_where(t: TaskResult) -> tuple[int | None, int | None]:
    e = _top(t)
    return (e.location.line, e.location.page) if e else (None, None)


def _snippet(text: str, width: int = 40) -> str:
    t = " ".join(text.split())
    return t if len(t) <= width else t[: width - 1] + "…"


def _iter_tasks(report: Report) -> Iterable[tuple[str, str, TaskResult]]:
    for s in report.policy_sets:
        for t in s.tasks:
            yield s.id, s.title, t


def supporting_passages(report: Report) -> dict[str, tuple[Chunk, ...]]:
    """Per task, the plan passages that count as evidence at all (confidence at or above the
    task's evidence cut-off), from the report's task x chunk matrix.

    A task's score is its best passage, so deleting a section can leave the score untouched
    while most of the evidence is gone; counting these passages catches that. Empty when the
    report carries no matrix (then the evidence rule is skipped)."""
    tasks = [t for _s, _st, t in _iter_tasks(report)]
    if not report.matrix or len(report.matrix) != len(tasks) or not report.chunks:
        return {}
    out: dict[str, tuple[Chunk, ...]] = {}
    for t, row in zip(tasks, report.matrix, strict=True):
        if t.threshold is None or len(row) != len(report.chunks):
            continue
        th = t.threshold
        floor = th.evidence if th.evidence is not None else th.partial
        out[t.id] = tuple(c for c, x in zip(report.chunks, row, strict=True) if x >= floor)
    return out


def _passage_json(c: Chunk) -> dict[str, Any]:
    return {"line": c.location.line, "page": c.location.page, "text": _snippet(c.text, 60)}


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


# --------------------------------------------------------------------------- rules


def _report_violations(report: Report, config: AlignConfig) -> list[Violation]:
    path = display_path(report.document.path)
    out: list[Violation] = []
    required = set(config.required)
    for set_id, _set_title, t in _iter_tasks(report):
        line, page = _evidence_where(t)
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
_VERDICT_ZH = {"assessable": "可考核", "partly": "部分可考核", "vague": "不可考核"}


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
            f"任务「{t.title}」的证据{_VERDICT_ZH[verdict]}：{lacks}，配置要求可考核"
            f" (task evidence is {verdict}: no target and time node)"
        ),
        level="error",
        **common,
    )


def _unknown_required(reports: Sequence[Report], config: AlignConfig) -> list[Violation]:
    """A required task id no report knows is a config typo; say so instead of passing."""
    if not reports or not (config.required or config.require_assessable):
        return []
    known = {t.id for r in reports for _s, _st, t in _iter_tasks(r)}
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
        out.extend(_report_violations(r, config))
    out.extend(_unknown_required(reports, config))
    return CheckResult(tuple(out), mode="rules", config=config, input_errors=len(errors))


# --------------------------------------------------------------------------- baseline


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
        for set_id, _title, t in _iter_tasks(r):
            e = _top(t)
            tasks[t.id] = {
                "set": set_id,
                "title": t.title,
                "status": t.status,
                "score": round(float(t.score), 4),
                "evidence": (
                    {
                        "text": _snippet(e.text, 80),
                        "line": e.location.line,
                        "page": e.location.page,
                        "heading": e.location.heading,
                    }
                    if e
                    else None
                ),
            }
            if t.id in support:
                tasks[t.id]["support"] = [_passage_json(c) for c in support[t.id]]
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
    from .fileio import NOT_FOUND, FileProblem, read_limited

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
    margin = config.regression_margin
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
            out.extend(_report_violations(r, config))
            continue
        compare_scores = True
        fp = base_model.get("fingerprint")
        cal = base_model.get("calibration")
        if base_model and (
            base_model.get("name") != r.model.name
            or (fp and r.model.fingerprint and fp != scores_identity(r.model))
            # confidences from another calibration are on another footing (and older baselines,
            # without a calibration, were made on the pre-confidence scale)
            or cal != r.model.calibration
        ):
            compare_scores = False  # scores from different models are not comparable
            out.append(
                Violation(
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
            )
        base_tasks: Mapping[str, Any] = doc["tasks"]
        support = supporting_passages(r) if compare_scores else {}
        seen: set[str] = set()
        for set_id, _title, t in _iter_tasks(r):
            seen.add(t.id)
            b = base_tasks.get(t.id)
            if not isinstance(b, dict) or b.get("status") not in STATUS_RANK:
                continue  # task new since the baseline: nothing to regress from
            b_status, b_score = b["status"], float(b.get("score", 0.0))
            line, page = _evidence_where(t)
            was = ""
            bev = b.get("evidence")
            if isinstance(bev, dict) and bev.get("text"):
                where = f"第{bev['line']}行" if bev.get("line") else (bev.get("heading") or "")
                was = f"；原证据{('（' + where + '）') if where else ''}：“{_snippet(bev['text'])}”"
            common = dict(
                task_id=t.id, set_id=set_id, path=path, title=t.title, status=t.status,
                score=t.score, before_status=b_status, before_score=b_score,
                line=line if t.status != "missing" else None, page=page,
            )
            if STATUS_RANK[t.status] < STATUS_RANK[b_status]:
                out.append(
                    Violation(
                        rule=RULE_REGRESSED,
                        message_zh=(
                            f"任务「{t.title}」由{STATUS_ZH[b_status]}降为{STATUS_ZH[t.status]}"
                            f"（置信度 {b_score:.0f} → {t.score:.0f}）{was}"
                            f" (regressed: {b_status} -> {t.status})"
                        ),
                        level="error",
                        **common,  # type: ignore[arg-type]
                    )
                )
            else:
                lost_msg = None
                if t.id in support and isinstance(b.get("support"), list):
                    lost_msg = _evidence_lost(b["support"], support[t.id], config.evidence_margin)
                if compare_scores and b_score - t.score > margin + 1e-9:
                    out.append(
                        Violation(
                            rule=RULE_SCORE_DROP,
                            message_zh=(
                                f"任务「{t.title}」置信度由 {b_score:.0f} 降至 {t.score:.0f}，"
                                f"降幅超过允许的 {margin:g}"
                                + (f"；支撑段落{lost_msg[len('的支撑段落'):]}" if lost_msg else was)
                                + " (score fell by more than the margin)"
                            ),
                            level="error",
                            **common,  # type: ignore[arg-type]
                        )
                    )
                elif lost_msg:
                    out.append(
                        Violation(
                            rule=RULE_EVIDENCE_LOST,
                            message_zh=f"任务「{t.title}」{lost_msg} (most supporting passages are gone)",
                            level="error",
                            **common,  # type: ignore[arg-type]
                        )
                    )
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
    return CheckResult(tuple(out), mode="baseline", config=config, input_errors=len(errors))


def _evidence_lost(before: list[Any], now: Sequence[Chunk], margin: float) -> str | None:
    """Chinese sentence when more than ``margin`` of the baseline's supporting passages (and at
    least two) are gone, naming a few of them; None otherwise."""
    n_before, n_now = len(before), len(now)
    lost = n_before - n_now
    if lost < 2 or lost / max(n_before, 1) <= margin + 1e-9:
        return None
    current = {_norm(_snippet(c.text, 60)) for c in now}
    gone = [p for p in before if isinstance(p, dict) and _norm(str(p.get("text", ""))) not in current]
    named = "、".join(
        (f"第{p['line']}行" if p.get("line") else (f"第{p['page']}页" if p.get("page") else ""))
        + f"“{_snippet(str(p.get('text', '')), 24)}”"
        for p in gone[:3]
    )
    more = f"等 {len(gone)} 段" if len(gone) > 3 else ""
    return (
        f"的支撑段落由 {n_before} 段减至 {n_now} 段（超过允许的 {margin:.0%}）"
        + (f"；不再支撑的段落：{named}{more}" if named else "")
    )


# --------------------------------------------------------------------------- diff


def _norm(text: str) -> str:
    return "".join(text.split())


@dataclass(frozen=True)
class TaskDiff:
    set_id: str
    task_id: str
    title: str
    before_status: Status | None  # None: task not in the old report
    after_status: Status | None  # None: task not in the new report
    before_score: float | None
    after_score: float | None
    appeared: tuple[Evidence, ...] = ()  # evidence whose text is new
    disappeared: tuple[Evidence, ...] = ()  # evidence whose text is gone
    before_support: int | None = None  # supporting passages (see supporting_passages)
    after_support: int | None = None

    @property
    def change(self) -> str:
        """'regressed' | 'improved' | 'added' | 'removed' | 'evidence-down' | 'evidence-up' |
        'score-down' | 'score-up' | 'same'."""
        if self.before_status is None:
            return "added"
        if self.after_status is None:
            return "removed"
        d = STATUS_RANK[self.after_status] - STATUS_RANK[self.before_status]
        if d < 0:
            return "regressed"
        if d > 0:
            return "improved"
        if (
            self.before_support is not None
            and self.after_support is not None
            and self.after_support != self.before_support
        ):
            return "evidence-down" if self.after_support < self.before_support else "evidence-up"
        delta = (self.after_score or 0.0) - (self.before_score or 0.0)
        if delta <= -0.005:
            return "score-down"
        if delta >= 0.005:
            return "score-up"
        return "same"

    @property
    def delta(self) -> float | None:
        if self.before_score is None or self.after_score is None:
            return None
        return self.after_score - self.before_score


@dataclass(frozen=True)
class DiffResult:
    old_path: str
    new_path: str
    tasks: tuple[TaskDiff, ...]

    def changed(self) -> list[TaskDiff]:
        return [t for t in self.tasks if t.change != "same" or t.appeared or t.disappeared]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.tasks:
            out[t.change] = out.get(t.change, 0) + 1
        return out


def diff_reports(old: Report, new: Report) -> DiffResult:
    """Per task: status and score before and after, and the evidence (by chunk text) that
    appeared or disappeared. Tasks keep the new report's order; tasks only in the old report
    follow at the end."""
    old_tasks = {t.id: (sid, t) for sid, _st, t in _iter_tasks(old)}
    old_sup, new_sup = supporting_passages(old), supporting_passages(new)
    rows: list[TaskDiff] = []
    seen: set[str] = set()
    for sid, _st, t in _iter_tasks(new):
        seen.add(t.id)
        o = old_tasks.get(t.id)
        ot = o[1] if o else None
        old_ev = {_norm(e.text): e for e in ot.evidence} if ot else {}
        new_ev = {_norm(e.text): e for e in t.evidence}
        rows.append(
            TaskDiff(
                set_id=sid,
                task_id=t.id,
                title=t.title,
                before_status=ot.status if ot else None,
                after_status=t.status,
                before_score=ot.score if ot else None,
                after_score=t.score,
                appeared=tuple(e for k, e in new_ev.items() if k not in old_ev),
                disappeared=tuple(e for k, e in old_ev.items() if k not in new_ev),
                before_support=len(old_sup[t.id]) if t.id in old_sup else None,
                after_support=len(new_sup[t.id]) if t.id in new_sup else None,
            )
        )
    for tid, (sid, ot) in old_tasks.items():
        if tid not in seen:
            rows.append(
                TaskDiff(
                    set_id=sid, task_id=tid, title=ot.title, before_status=ot.status,
                    after_status=None, before_score=ot.score, after_score=None,
                    disappeared=tuple(ot.evidence),
                )
            )
    return DiffResult(old_path=old.document.path, new_path=new.document.path, tasks=tuple(rows))
