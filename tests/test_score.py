"""`align score`: the real pipeline on the bundled example plan and on unrelated documents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import align
from align.cli import app
from align.types import Report

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "plan.txt"
EXAMPLE_DOCX = REPO / "examples" / "plan.docx"
UNRELATED = REPO / "dev" / "unrelated"
SCHEMA = REPO / "src" / "align" / "schemas" / "align-report-1.json"

pytestmark = pytest.mark.model


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "align", *args], capture_output=True, text=True, cwd=REPO
    )


@pytest.fixture(scope="module")
def example_report() -> Report:
    report = align.score(EXAMPLE)
    assert isinstance(report, Report)
    return report


def test_example_report_shows_every_status(example_report: Report) -> None:
    statuses = {t.status for s in example_report.policy_sets for t in s.tasks}
    assert statuses == {"covered", "partial", "missing"}
    ids = [t.id for s in example_report.policy_sets for t in s.tasks]
    assert len(ids) == 21


def test_example_report_agrees_with_its_labels(example_report: Report) -> None:
    labels = json.loads((REPO / "examples" / "plan.labels.json").read_text(encoding="utf-8"))
    status = {t.id: t.status for s in example_report.policy_sets for t in s.tasks}
    # the plan has a whole 校企合作 section: that must be found, with evidence located in it
    assert status["tzpy-04"] == "covered"
    ev = example_report.task("tzpy-04").evidence
    assert ev and ev[0].location.line is not None and ev[0].location.heading
    for tid in labels["missing"]:
        assert status[tid] != "covered", tid
    answered = set(labels["covered"]) | set(labels["partial"])
    found = {t for t, s in status.items() if s != "missing"}
    recall = len(found & answered) / len(answered)
    assert recall >= 0.8, (recall, sorted(answered - found))


def test_evidence_points_at_the_plan_text(example_report: Report) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for s in example_report.policy_sets:
        for t in s.tasks:
            for e in t.evidence:
                assert text[e.location.start : e.location.end] == e.text


@pytest.mark.parametrize("name", ["hospital.txt", "company.txt", "primary_school.txt"])
def test_unrelated_documents_have_nothing_covered(name: str) -> None:
    allowed = json.loads((UNRELATED / "labels.json").read_text(encoding="utf-8")).get(name, [])
    report = align.score(UNRELATED / name)
    covered = [t.id for s in report.policy_sets for t in s.tasks if t.status == "covered"]
    assert [t for t in covered if t not in allowed] == []


def test_json_output_validates_against_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    out = tmp_path / "r.json"
    r = run_cli("score", str(EXAMPLE), "--format", "json", "--output", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert data["schema"] == "align-report/1"
    assert data["model"]["name"]
    assert [len(s["tasks"]) for s in data["policy_sets"]] == [10, 6, 5]


def test_jsonl_one_line_per_document_and_bad_file_keeps_batch_going(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    r = run_cli("score", str(EXAMPLE), str(empty), str(UNRELATED / "company.txt"), "--format", "jsonl")
    assert r.returncode == 2
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert [Path(x["document"]["path"]).name for x in lines] == ["plan.txt", "company.txt"]
    err = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(err) == 1 and "empty.txt" in err[0] and "Traceback" not in r.stderr


def test_table_and_markdown_are_readable_chinese() -> None:
    r = run_cli("score", str(EXAMPLE))
    assert r.returncode == 0, r.stderr
    assert "tzpy-04" in r.stdout and "已覆盖" in r.stdout and "未覆盖" in r.stdout
    assert "覆盖率" in r.stdout
    md = run_cli("score", str(EXAMPLE), "--format", "markdown")
    assert md.returncode == 0
    assert "| `tzpy-04` |" in md.stdout and "### " in md.stdout


def test_docx_scores_like_txt(example_report: Report) -> None:
    if not EXAMPLE_DOCX.exists():
        pytest.skip("examples/plan.docx not generated")
    docx = align.score(EXAMPLE_DOCX)
    a = {t.id: t.status for s in example_report.policy_sets for t in s.tasks}
    b = {t.id: t.status for s in docx.policy_sets for t in s.tasks}
    same = sum(a[k] == b[k] for k in a)
    assert same >= 18, (a, b)


def test_explain_shows_thresholds_and_ranked_evidence() -> None:
    r = run_cli("explain", str(EXAMPLE), "tzpy-04")
    assert r.returncode == 0, r.stderr
    assert "阈值" in r.stdout and "覆盖" in r.stdout
    bad = run_cli("explain", str(EXAMPLE), "no-such-task")
    assert bad.returncode == 2 and "no-such-task" in bad.stderr


def test_unknown_format_is_a_usage_error() -> None:
    r = run_cli("score", str(EXAMPLE), "--format", "pdf")
    assert r.returncode == 2 and "pdf" in r.stderr


def test_cli_app_is_importable_without_torch() -> None:
    code = "import sys, align.cli; assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    assert app is not None


SOCKET_BLOCKER = """
import socket

def _refuse(*args, **kwargs):
    raise OSError("network disabled for this test")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
"""


def test_scoring_with_the_default_model_needs_no_network(tmp_path: Path) -> None:
    """The whole `align score` path, default model, empty embedding cache, sockets refused, and
    no HF_*_OFFLINE variables set by the caller: align must set them itself."""
    import os

    from align.embed.e5build import ensure_e5_model

    built = ensure_e5_model(progress=False)
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    (cache / "models" / built.name).symlink_to(built, target_is_directory=True)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SOCKET_BLOCKER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(PYTHONPATH=str(site), ALIGN_CACHE_DIR=str(cache))
    out = tmp_path / "r.json"
    r = subprocess.run(
        [sys.executable, "-m", "align", "score", str(EXAMPLE), "-f", "json", "-o", str(out)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["model"]["name"] and "e5" in data["model"]["name"]
    statuses = {t["status"] for s in data["policy_sets"] for t in s["tasks"]}
    assert "covered" in statuses


def test_size_limit_is_configurable_and_reported(tmp_path: Path) -> None:
    plan = tmp_path / "plan.txt"
    plan.write_text("一、总体目标\n" + "深化产教融合，推进校企合作。" * 200, encoding="utf-8")
    r = run_cli("score", str(plan), "--model", "lexical", "--max-size", "0.001")
    assert r.returncode == 2
    assert "plan.txt" in r.stderr and "Traceback" not in r.stderr
    ok = run_cli("score", str(plan), "--model", "lexical", "--max-size", "1", "-f", "json")
    assert ok.returncode == 0, ok.stderr
