"""What the CI gate finds, as plain frozen data: rule ids, violations, check and diff results.

The gate (``align.gate``) makes these and the CI formats (``align.report.junit``, ``sarif``,
``github``, ``check_formats``, ``diff``) print them; both import this module and not each other,
so a report never depends on how a rule is judged or how the config file is parsed.
``AlignConfig`` lives here because a ``CheckResult`` carries the rules it was judged by (the
formats show the config file and the per-set minimum); reading it from TOML is
``align.gate.config``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .types import Evidence, Status
from .vocab import STATUS_RANK

Level = Literal["error", "warning", "notice"]
LEVELS: tuple[Level, ...] = ("error", "warning", "notice")
DEFAULT_ANNOTATION_CAP = 10  # GitHub shows no more than 10 annotations per level and step

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
class AlignConfig:
    """What `align check` enforces. Defaults apply when no configuration file is found."""

    sets: tuple[str, ...] | None = None  # policy-set ids; None = every bundled set
    policies: tuple[Path, ...] = ()  # extra policy-set files, resolved against the config file
    model: str | None = None
    # minimum share (0..1) of a set's tasks that must be ``covered``: one number for every set,
    # or per set id (key "default" applies to sets not named)
    min_covered_share: float | dict[str, float] | None = None
    required: tuple[str, ...] = ()  # task ids that must be ``covered``
    # task ids whose evidence must be 可考核 (a target and a time node); "all-covered" = every
    # covered task
    require_assessable: tuple[str, ...] = ()
    fail_on: tuple[str, ...] = ("missing",)  # statuses that fail the check
    report_on: tuple[str, ...] = ("partial",)  # statuses shown as warnings, never failing
    # baseline: a drop of a task's confidence (0-100) by more than this many points is a
    # regression
    regression_margin: float = 10.0
    # baseline: losing more than this share of a task's supporting passages (and at least two)
    # is a regression, even when its best passage, and so its score, survives
    evidence_margin: float = 0.5
    baseline: Path | None = None  # default for --baseline
    annotation_cap: int = DEFAULT_ANNOTATION_CAP
    source: Path | None = field(default=None, compare=False)  # file the rules came from

    def min_share_for(self, set_id: str) -> float | None:
        m = self.min_covered_share
        if m is None or isinstance(m, float):
            return m
        return m.get(set_id, m.get("default"))


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
    before_support: int | None = None  # supporting passages (see gate.evidence.supporting_passages)
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


def display_path(path: str | os.PathLike[str], root: Path | None = None) -> str:
    """Path as CI tools want it: relative to ``root`` (default: working directory) when inside
    it, with forward slashes; otherwise unchanged."""
    p = Path(path)
    root = (root or Path.cwd()).resolve()
    try:
        return p.resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return p.as_posix()
