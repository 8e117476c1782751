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

if TYPE_CHECKING:  # pragma: no cover
    from ..findings import CheckResult, Violation
    from ..types import Report


def _failures(case: ET.Element, vs: list[Violation]) -> tuple[int, int]:
    """Attach violations to a case; returns (#failures, #errors) it counts for."""
    from ..findings import RULE_INPUT

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
        from ..findings import display_path

        root = ET.Element("testsuites", name="align check")
        total = {"tests": 0, "failures": 0, "errors": 0}
        by_path: dict[str, list[Violation]] = {}
        for v in result.violations:
            by_path.setdefault(v.path, []).append(v)
        done_paths: set[str] = set()

        def suite(name: str) -> ET.Element:
            return ET.SubElement(root, "testsuite", name=name)

        def close(s: ET.Element, counts: dict[str, int]) -> None:
            s.set("tests", str(counts["tests"]))
            s.set("failures", str(counts["failures"]))
            s.set("errors", str(counts["errors"]))
            s.set("skipped", "0")
            for k in total:
                total[k] += counts[k]

        for r in reports:
            path = display_path(r.document.path)
            done_paths.add(path)
            vs = by_path.get(path, [])
            s = suite(path)
            s.set("file", path)
            counts = {"tests": 0, "failures": 0, "errors": 0}
            for ps in r.policy_sets:
                for t in ps.tasks:
                    case = ET.SubElement(
                        s, "testcase", classname=f"{path}.{ps.id}", name=f"{t.id} {t.title}", file=path
                    )
                    tv = [v for v in vs if v.task_id == t.id]
                    f, e = _failures(case, tv)
                    if not tv:
                        out = ET.SubElement(case, "system-out")
                        out.text = f"status={t.status} score={t.score:.4f}"
                    counts["tests"] += 1
                    counts["failures"] += f
                    counts["errors"] += e
                set_vs = {}
                for v in vs:
                    if v.task_id is None and v.set_id:
                        set_vs.setdefault(v.set_id, []).append(v)
                if ps.id in set_vs or result.config.min_share_for(ps.id) is not None:
                    case = ET.SubElement(
                        s, "testcase", classname=f"{path}.{ps.id}",
                        name=f"{ps.id} 覆盖率 covered share", file=path,
                    )
                    f, e = _failures(case, set_vs.get(ps.id, []))
                    counts["tests"] += 1
                    counts["failures"] += f
                    counts["errors"] += e
            # document-level findings (no baseline, model changed, removed tasks)
            known = {t.id for ps in r.policy_sets for t in ps.tasks}
            rest = [
                v for v in vs
                if (v.task_id is None and v.set_id is None) or (v.task_id and v.task_id not in known)
            ]
            if rest:
                case = ET.SubElement(s, "testcase", classname=path, name="document", file=path)
                f, e = _failures(case, rest)
                counts["tests"] += 1
                counts["failures"] += f
                counts["errors"] += e
            close(s, counts)

        # plans that could not be read, and config findings, have no report
        for path, vs in by_path.items():
            if path in done_paths:
                continue
            s = suite(path or "config")
            counts = {"tests": 1, "failures": 0, "errors": 0}
            case = ET.SubElement(s, "testcase", classname=path or "config", name=vs[0].rule)
            f, e = _failures(case, vs)
            counts["failures"] += f
            counts["errors"] += e
            close(s, counts)

        for k, n in total.items():
            root.set(k, str(n))
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
