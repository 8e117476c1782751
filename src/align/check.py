"""Moved to ``align.gate`` (rules, baseline, diff) and ``align.findings`` (the results); kept for
one release."""

from __future__ import annotations

from .findings import (  # noqa: F401
    LEVELS,
    RULE_ASSESSABLE,
    RULE_EVIDENCE_LOST,
    RULE_INPUT,
    RULE_MIN_SHARE,
    RULE_MODEL_CHANGED,
    RULE_NO_BASELINE,
    RULE_REGRESSED,
    RULE_REQUIRED,
    RULE_SCORE_DROP,
    RULE_STATUS,
    RULE_TASK_GONE,
    RULE_UNKNOWN_TASK,
    STATUS_RANK,
    CheckResult,
    DiffResult,
    Level,
    TaskDiff,
    Violation,
    display_path,
)
from .gate.baseline import (  # noqa: F401
    BASELINE_SCHEMA,
    MAX_BASELINE_BYTES,
    compare_to_baseline,
    dump_baseline,
    load_baseline,
    make_baseline,
    scores_identity,
)
from .gate.diff import diff_reports  # noqa: F401
from .gate.evidence import supporting_passages  # noqa: F401
from .gate.rules import ALL_COVERED, error_violation, evaluate  # noqa: F401
from .vocab import STATUS_ZH  # noqa: F401
