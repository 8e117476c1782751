"""SARIF 2.1.0 for `align check`: one rule per policy task, one result per finding.

Code-scanning tools (GitHub, GitLab, Azure DevOps) read SARIF; a task is a "rule" so a finding
is grouped with every other plan that misses the same task. Set-level findings (minimum covered
share) and unreadable plans get rules of their own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:  # pragma: no cover
    from ..check import CheckResult, Violation
    from ..types import Report

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "notice": "note"}


def _uri(path: str) -> str:
    # a relative URI reference; non-ASCII (Chinese) file names are percent-encoded
    return quote(path.replace("\\", "/"), safe="/:@-._~!$&'()*+,;=")


def _rule_id(v: Violation) -> str:
    if v.task_id:
        return v.task_id
    if v.set_id:
        return f"set/{v.set_id}"
    return f"align/{v.rule}"


class SarifFormatter:
    name = "sarif"

    def format(self, result: CheckResult, reports: Sequence[Report]) -> str:
        from .. import __version__

        rules: list[dict[str, Any]] = []
        index: dict[str, int] = {}

        def add_rule(rid: str, name: str, text: str, props: dict[str, Any]) -> None:
            if rid in index:
                return
            index[rid] = len(rules)
            rules.append(
                {
                    "id": rid,
                    "name": name,
                    "shortDescription": {"text": text or rid},
                    "properties": props,
                }
            )

        for r in reports:
            for s in r.policy_sets:
                for t in s.tasks:
                    desc = f"{t.title}（{s.title}）"
                    add_rule(t.id, t.id, desc, {"policySet": s.id, "tags": ["policy-task", s.id]})
        for v in result.violations:
            rid = _rule_id(v)
            if v.task_id:
                add_rule(rid, rid, v.title or rid, {"policySet": v.set_id or "", "tags": ["policy-task"]})
            elif v.set_id:
                add_rule(rid, rid, f"政策集覆盖率：{v.title or v.set_id}", {"policySet": v.set_id, "tags": ["policy-set"]})
            else:
                add_rule(rid, rid, f"align {v.rule}", {"tags": ["align"]})

        results: list[dict[str, Any]] = []
        for v in result.violations:
            rid = _rule_id(v)
            res: dict[str, Any] = {
                "ruleId": rid,
                "ruleIndex": index[rid],
                "level": SARIF_LEVEL[v.level],
                "message": {"text": v.message_zh},
                "properties": {"alignRule": v.rule},
            }
            for k in ("status", "score", "before_status", "before_score"):
                val = getattr(v, k)
                if val is not None:
                    res["properties"][k] = round(val, 4) if isinstance(val, float) else val
            if v.path:
                phys: dict[str, Any] = {"artifactLocation": {"uri": _uri(v.path)}}
                if v.line:
                    phys["region"] = {"startLine": v.line}
                res["locations"] = [{"physicalLocation": phys}]
                key = f"{v.path}\0{rid}\0{v.rule}".encode()
                res["partialFingerprints"] = {"alignFinding/v1": hashlib.sha256(key).hexdigest()[:32]}
            results.append(res)

        from ..check import display_path

        artifacts = []
        for r in reports:
            art: dict[str, Any] = {"location": {"uri": _uri(display_path(r.document.path))}}
            if r.document.sha256:
                art["hashes"] = {"sha-256": r.document.sha256}
            artifacts.append(art)
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": "align",
                    "version": __version__,
                    "rules": rules,
                }
            },
            "results": results,
            "columnKind": "unicodeCodePoints",
        }
        if artifacts:
            run["artifacts"] = artifacts
        log = {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}
        return json.dumps(log, ensure_ascii=False, indent=2) + "\n"
