"""`align check` output that tools can read: text lines in the `path:line:col: level rule message`
shape (ruff, markdownlint, Vale), and SARIF rules with help text, helpUri and invocations.
Real runs of the CLI with the lexical model on the example plan and a draft that drops its
校企合作 section."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from align import ui
from align.cli import run

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "plan.txt"
LEX = ["--model", "lexical"]
# the line shape editors and CI problem matchers parse (ruff / markdownlint / Vale style)
LINE = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): "
                  r"(?P<level>error|warning|notice) (?P<rule>[a-z-]+) (?P<msg>\S.*)$")

pytestmark = pytest.mark.usefixtures("cache_dir")


@pytest.fixture(autouse=True)
def _reset():
    yield
    ui.set_verbosity(ui.NORMAL)


@pytest.fixture
def plans(tmp_path, monkeypatch):
    """plans/plan.txt as in the example, a baseline of it, then a draft without 校企合作."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plans").mkdir()
    text = PLAN.read_text(encoding="utf-8")
    (tmp_path / "plans" / "plan.txt").write_text(text, encoding="utf-8")
    (tmp_path / "align.toml").write_text("regression_margin = 0.05\n", encoding="utf-8")
    assert run(["baseline", "plans/plan.txt", *LEX, "-o", "base.json", "-q"]) == 0
    lines = text.splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.startswith("（三）") and "校企合作" in ln)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("（四）"))
    (tmp_path / "plans" / "plan.txt").write_text("".join(lines[:start] + lines[end:]),
                                                 encoding="utf-8")
    (tmp_path / "plans" / "empty.txt").write_text("", encoding="utf-8")
    return tmp_path


def test_text_lines_have_the_path_line_col_shape(plans, capsys):
    code = run(["check", "plans/plan.txt", "plans/empty.txt", *LEX, "--baseline", "base.json"])
    out = capsys.readouterr().out
    assert code == 2  # an unreadable plan outranks the failed rules
    body, _, verdict = out.rstrip("\n").rpartition("\n\n")
    findings = [LINE.match(ln) for ln in body.splitlines()]
    assert findings and all(findings), body
    regressed = [m for m in findings if m["rule"] in {"regressed", "score-drop", "evidence-lost"}]
    assert regressed and all(m["path"] == "plans/plan.txt" for m in regressed)
    assert any(m["msg"].startswith("[tzpy-04] ") for m in regressed)
    # a regression that still has evidence points at its line in the plan
    assert any(int(m["line"]) > 1 for m in findings if m["path"] == "plans/plan.txt")
    empty = [m for m in findings if m["path"] == "plans/empty.txt"]
    assert [m["rule"] for m in empty] == ["input-error"] and empty[0]["level"] == "error"
    assert "未通过" in verdict or "输入错误" in verdict


def test_config_level_findings_point_at_the_config_file(plans, capsys):
    (plans / "align.toml").write_text('required = ["tzpy-04"]\nmin_covered_share = 0.99\n',
                                      encoding="utf-8")
    assert run(["check", "plans/plan.txt", *LEX]) == 1
    findings = [LINE.match(ln) for ln in capsys.readouterr().out.splitlines() if ":1:" in ln]
    share = [m for m in findings if m and m["rule"] == "min-covered-share"]
    assert share and all(m["path"] == "plans/plan.txt" or m["path"] == "align.toml" for m in share)


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def _sarif(plans, *extra: str) -> dict:
    out = plans / "findings.sarif"
    run(["check", "plans/plan.txt", "plans/empty.txt", *LEX, "--baseline", "base.json",
         "-o", str(out), *extra])
    return json.loads(out.read_text(encoding="utf-8"))


def test_sarif_rules_have_help_and_the_run_has_its_invocation(plans, sarif_validator):
    log = _sarif(plans)
    assert list(sarif_validator.iter_errors(log)) == []
    run_ = log["runs"][0]
    rules = {r["id"]: r for r in run_["tool"]["driver"]["rules"]}
    t4 = rules["tzpy-04"]
    assert "深化职业教育产教融合、校企合作" in t4["help"]["text"]
    assert "align explain PLAN tzpy-04" in t4["help"]["markdown"]
    assert all(r["help"]["text"] and r["help"]["markdown"] for r in rules.values())
    assert "规划无法读取" in rules["align/input-error"]["help"]["text"]
    (inv,) = run_["invocations"]
    assert inv["exitCode"] == 2 and inv["executionSuccessful"] is False
    assert inv["workingDirectory"]["uri"].startswith("file://")
    (note,) = inv["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "plans/empty.txt"


def test_sarif_help_uri_comes_from_the_declared_docs_url(plans, sarif_validator, monkeypatch):
    from align.report import sarif

    assert all("helpUri" not in r for r in _sarif(plans)["runs"][0]["tool"]["driver"]["rules"])
    monkeypatch.setattr(sarif, "docs_url", lambda: "https://example.org/align/docs")
    log = _sarif(plans)
    assert list(sarif_validator.iter_errors(log)) == []
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["tzpy-04"]["helpUri"] == "https://example.org/align/docs/policies.md"
    assert rules["align/input-error"]["helpUri"] == "https://example.org/align/docs/ci.md#rule-ids"
    assert log["runs"][0]["tool"]["driver"]["informationUri"] == "https://example.org/align/docs"


def test_docs_url_reads_project_urls(monkeypatch):
    from importlib import metadata

    from align.report import sarif

    class Meta:
        def get_all(self, key):
            return ["Repository, https://example.org/align", "Documentation, https://example.org/d/"]

    monkeypatch.setattr(metadata, "metadata", lambda name: Meta())
    assert sarif.docs_url() == "https://example.org/d"
