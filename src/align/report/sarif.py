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

from ..findings import RULE_INPUT, CheckResult, Violation, display_path

if TYPE_CHECKING:  # pragma: no cover
    from ..types import Report

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "notice": "note"}


def _uri(path: str) -> str:
    # a relative URI reference; non-ASCII (Chinese) file names are percent-encoded
    return quote(path.replace("\\", "/"), safe="/:@-._~!$&'()*+,;=")


# What each align rule means, for the SARIF rule's help (and docs/ci.md, which lists them).
RULE_HELP = {
    "status": "任务状态在 fail_on（失败）或 report_on（仅报告）之列。A task's status is listed in fail_on or report_on.",
    "required": "required 中的任务必须为“已覆盖”。A required task is not covered.",
    "assessable": "require_assessable 中的任务，其证据须给出量化目标和时间节点（可考核）。The task's evidence gives no quantified target and time node.",
    "min-covered-share": "政策集中“已覆盖”任务的比例低于 min_covered_share。Too few tasks of the set are covered.",
    "unknown-task": "配置中的任务编号不在所选政策集中。The config names a task no selected set has.",
    "regressed": "与基线相比，任务状态下降。Against the baseline, the task's status fell.",
    "score-drop": "与基线相比，得分下降超过 regression_margin。The score fell by more than regression_margin.",
    "evidence-lost": "与基线相比，支撑段落减少超过 evidence_margin。Most supporting passages are gone.",
    "task-removed": "基线中的任务已不再评分（政策集有变）。A baseline task is no longer scored.",
    "no-baseline": "基线中没有这份规划，按规则检查。The plan is not in the baseline; rules apply.",
    "model-changed": "基线由其他模型生成，只比较状态。The baseline used another model; statuses only.",
    "input-error": "规划无法读取。The plan could not be read.",
}


def docs_url() -> str | None:
    """Where the docs are published: the installed distribution's ``Project-URL:
    Documentation``, if it declares one (SARIF ``helpUri`` must be an absolute URI, and this
    is the only one align can vouch for)."""
    from importlib import metadata

    try:
        urls = metadata.metadata("align-policy").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in {"documentation", "docs"} and url.strip().startswith("http"):
            return url.strip().rstrip("/")
    return None


def _policy_tasks(result: CheckResult) -> dict[str, Any]:
    """Task id -> its policy definition (official text, matching description), from the sets the
    check used; empty if they cannot be loaded (the help then has the titles only)."""
    from ..errors import AlignError
    from ..policies import load_policies

    try:
        return {t.id: t for ps in load_policies(result.config.policies) for t in ps.tasks}
    except (AlignError, OSError):
        return {}


def _task_help(t: Any, s: Any, task: Any) -> dict[str, str]:
    official = getattr(task, "official_text", "")
    description = getattr(task, "description", "")
    subs = [m.title for m in getattr(t, "sub_measures", ())]
    lines = [f"{t.title}（{s.title}，{s.id}）"]
    if official:
        lines.append(f"原文 official text：{official}")
    if description:
        lines.append(f"对照说明 what counts as evidence (written for matching): {description}")
    if subs:
        lines.append("具体举措 sub-measures：" + "；".join(subs))
    lines.append("查看证据 see the evidence: align explain PLAN " + t.id)
    md = [f"**{t.title}**（{s.title}，`{s.id}`）", ""]
    if official:
        md += [f"> {official}", ""]
    if description:
        md += [description, ""]
    md += [f"- {m}" for m in subs]
    md += ["", f"`align explain PLAN {t.id}` 显示证据排序与阈值 (ranked evidence and thresholds)."]
    return {"text": "\n".join(lines), "markdown": "\n".join(md).strip() + "\n"}


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

        base = docs_url()
        rules, index = _rules(result, reports, base)
        driver: dict[str, Any] = {"name": "align", "version": __version__, "rules": rules}
        if base:
            driver["informationUri"] = base
        run: dict[str, Any] = {
            "tool": {"driver": driver},
            "invocations": [_invocation(result)],
            "results": [_result(v, index) for v in result.violations],
            "columnKind": "unicodeCodePoints",
        }
        artifacts = _artifacts(reports)
        if artifacts:
            run["artifacts"] = artifacts
        log = {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}
        return json.dumps(log, ensure_ascii=False, indent=2) + "\n"


def _rules(
    result: CheckResult, reports: Sequence[Report], base: str | None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The SARIF rules (every task of every report, then the set and align rules the
    violations name) and each rule id's index among them."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}

    def add_rule(rid: str, name: str, text: str, props: dict[str, Any],
                 help_: dict[str, str], page: str) -> None:
        if rid in index:
            return
        index[rid] = len(rules)
        rule: dict[str, Any] = {
            "id": rid,
            "name": name,
            "shortDescription": {"text": text or rid},
            "help": help_,
            "properties": props,
        }
        if base:
            rule["helpUri"] = f"{base}/{page}"
        rules.append(rule)

    def rule_help(rule: str, what: str) -> dict[str, str]:
        text = f"{what}：{RULE_HELP.get(rule, rule)}（见 docs/ci.md，Rule ids）"
        return {"text": text, "markdown": text + "\n"}

    defined = _policy_tasks(result) if reports else {}
    for r in reports:
        for s in r.policy_sets:
            for t in s.tasks:
                desc = f"{t.title}（{s.title}）"
                add_rule(t.id, t.id, desc, {"policySet": s.id, "tags": ["policy-task", s.id]},
                         _task_help(t, s, defined.get(t.id)), "policies.md")
    for v in result.violations:
        rid = _rule_id(v)
        if v.task_id:
            add_rule(rid, rid, v.title or rid, {"policySet": v.set_id or "", "tags": ["policy-task"]},
                     rule_help(v.rule, v.title or rid), "policies.md")
        elif v.set_id:
            add_rule(rid, rid, f"政策集覆盖率：{v.title or v.set_id}", {"policySet": v.set_id, "tags": ["policy-set"]},
                     rule_help(v.rule, v.title or v.set_id), "ci.md#rule-ids")
        else:
            add_rule(rid, rid, f"align {v.rule}", {"tags": ["align"]},
                     rule_help(v.rule, f"align {v.rule}"), "ci.md#rule-ids")
    return rules, index


def _result(v: Violation, index: dict[str, int]) -> dict[str, Any]:
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
    return res


def _artifacts(reports: Sequence[Report]) -> list[dict[str, Any]]:
    artifacts = []
    for r in reports:
        art: dict[str, Any] = {"location": {"uri": _uri(display_path(r.document.path))}}
        if r.document.sha256:
            art["hashes"] = {"sha-256": r.document.sha256}
        artifacts.append(art)
    return artifacts


def _invocation(result: CheckResult) -> dict[str, Any]:
    """How align ran: the command line, the exit code, whether every plan could be read (an
    unreadable plan is a tool execution notification, and the run is not successful)."""
    import sys
    from pathlib import Path

    inv: dict[str, Any] = {
        "executionSuccessful": result.exit_code != 2,
        "exitCode": result.exit_code,
        "commandLine": " ".join(["align", *sys.argv[1:]]),
        "arguments": list(sys.argv[1:]),
        "workingDirectory": {"uri": Path.cwd().resolve().as_uri() + "/"},
    }
    notes = []
    for v in result.violations:
        if v.rule == RULE_INPUT:
            note: dict[str, Any] = {"level": "error", "message": {"text": v.message_zh},
                                    "descriptor": {"id": "align/input-error"}}
            if v.path:
                note["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": _uri(v.path)}}}]
            notes.append(note)
    if notes:
        inv["toolExecutionNotifications"] = notes
    return inv
