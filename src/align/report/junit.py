"""JUnit XML for `align check`: one test suite per plan, one test case per policy task.

CI systems (GitLab, Jenkins, Azure) render JUnit natively, so a plan reads as a test run: tasks
that break a rule are failures, warnings and notices go to the case's ``system-out``. Set-level
rules (minimum covered share) get a test case of their own per set when configured; an
unreadable plan is a suite with one errored case.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..findings import RULE_INPUT, CheckResult, Violation, display_path

if TYPE_CHECKING:  # pragma: no cover
    from ..types import Report


def _failures(case: ET.Element, vs: list[Violation]) -> tuple[int, int]:
    """Attach violations to a case; returns (#failures, #errors) it counts for."""
    fails = [v for v in vs if v.level == "error" and v.rule != RULE_INPUT]
    errs = [v for v in vs if v.rule == RULE_INPUT]
    other = [v for v in vs if v.level != "error"]
    if errs:
        e = ET.SubElement(case, "error", message=errs[0].message_zh, type=RULE_INPUT)
        e.text = "\n".join(v.message_zh for v in errs)
    elif fails:
        f = ET.SubElement(case, "failure", message=fails[0].message_zh, type=fails[0].rule)
        f.text = "\n".join(
            f"[{v.rule}] {v.message_zh}" + (f" ({v.path}:{v.line})" if v.line else "") for v in fails
        )
    if other:
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(f"[{v.level} {v.rule}] {v.message_zh}" for v in other)
    return (1 if fails and not errs else 0), (1 if errs else 0)


class JunitFormatter:
    name = "junit"

    def format(self, result: CheckResult, reports: Sequence[Report]) -> str:
        root = ET.Element("testsuites", name="align check")
        total = {"tests": 0, "failures": 0, "errors": 0}
        by_path: dict[str, list[Violation]] = {}
        for v in result.violations:
            by_path.setdefault(v.path, []).append(v)
        done_paths: set[str] = set()
        for r in reports:
            path = display_path(r.document.path)
            done_paths.add(path)
            s = ET.SubElement(root, "testsuite", name=path)
            s.set("file", path)
            _close(s, _plan_cases(s, r, path, by_path.get(path, []), result), total)

        # plans that could not be read, and config findings, have no report
        for path, vs in by_path.items():
            if path in done_paths:
                continue
            s = ET.SubElement(root, "testsuite", name=path or "config")
            counts = {"tests": 0, "failures": 0, "errors": 0}
            _case(s, counts, vs, classname=path or "config", name=vs[0].rule)
            _close(s, counts, total)

        for k, n in total.items():
            root.set(k, str(n))
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _case(s: ET.Element, counts: dict[str, int], vs: list[Violation], **attrs: str) -> ET.Element:
    """One test case carrying ``vs``, counted in ``counts``."""
    case = ET.SubElement(s, "testcase", **attrs)
    f, e = _failures(case, vs)
    counts["tests"] += 1
    counts["failures"] += f
    counts["errors"] += e
    return case


def _close(s: ET.Element, counts: dict[str, int], total: dict[str, int]) -> None:
    s.set("tests", str(counts["tests"]))
    s.set("failures", str(counts["failures"]))
    s.set("errors", str(counts["errors"]))
    s.set("skipped", "0")
    for k in total:
        total[k] += counts[k]


def _plan_cases(
    s: ET.Element, r: Report, path: str, vs: list[Violation], result: CheckResult
) -> dict[str, int]:
    """A plan's cases: one per task, one per set with a set-level rule, and one for
    document-level findings (no baseline, model changed, removed tasks)."""
    counts = {"tests": 0, "failures": 0, "errors": 0}
    for ps in r.policy_sets:
        for t in ps.tasks:
            tv = [v for v in vs if v.task_id == t.id]
            case = _case(s, counts, tv, classname=f"{path}.{ps.id}", name=f"{t.id} {t.title}",
                         file=path)
            if not tv:
                out = ET.SubElement(case, "system-out")
                out.text = f"status={t.status} score={t.score:.4f}"
        set_vs: dict[str, list[Violation]] = {}
        for v in vs:
            if v.task_id is None and v.set_id:
                set_vs.setdefault(v.set_id, []).append(v)
        if ps.id in set_vs or result.config.min_share_for(ps.id) is not None:
            _case(s, counts, set_vs.get(ps.id, []), classname=f"{path}.{ps.id}",
                  name=f"{ps.id} 覆盖率 covered share", file=path)
    known = {t.id for ps in r.policy_sets for t in ps.tasks}
    rest = [
        v for v in vs
        if (v.task_id is None and v.set_id is None) or (v.task_id and v.task_id not in known)
    ]
    if rest:
        _case(s, counts, rest, classname=path, name="document", file=path)
    return counts
