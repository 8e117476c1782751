"""`align calibrate`: a reviewer's own labels fit the checker, `--calibration` uses the result,
and a bad labels file is one line naming the file and line (exit 2). Real lexical model (jieba),
real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from align.evaluate import load_dev

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("cache_dir")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "align", *args], capture_output=True, text=True, timeout=600
    )


def write_labels(path: Path, drop: str | None = None) -> Path:
    """The written dev set as a reviewer's labels file; ``drop``: relabel that task's
    passages as about nothing (a reviewer who says they are not evidence)."""
    with path.open("w", encoding="utf-8") as fh:
        for p in load_dev():
            labels = {t: "core" for t in p.labels}
            if drop and drop in labels:
                labels = {}
            fh.write(json.dumps({"text": p.text, "labels": labels, "doc": p.doc}, ensure_ascii=False) + "\n")
    return path


INTERNATIONAL = (
    "学院与德国、新加坡等国家的职业院校开展中外合作办学，在“一带一路”沿线国家设立海外分院，"
    "每年接收来华留学生100名，选派专业教师赴境外研修。"
)


def tzpy09(report_json: str) -> dict:
    data = json.loads(report_json)
    t = next(t for s in data["policy_sets"] for t in s["tasks"] if t["id"] == "tzpy-09")
    return {"score": t["score"], "status": t["status"], "calibration": data["model"]["calibration"]}


def test_calibrate_writes_a_calibration_that_score_uses_and_records(tmp_path):
    labels = write_labels(tmp_path / "labels.jsonl")
    no_intl = write_labels(tmp_path / "no-intl.jsonl", drop="tzpy-09")
    plan = tmp_path / "plan.txt"
    plan.write_text("（三）扩大国际合作\n" + INTERNATIONAL + "\n", encoding="utf-8")
    cal_a, cal_b = tmp_path / "a.json", tmp_path / "b.json"
    for lab, out in ((labels, cal_a), (no_intl, cal_b)):
        r = run("calibrate", str(lab), "--model", "lexical", "-o", str(out))
        assert r.returncode == 0, r.stderr
        assert "已写入" in r.stderr
        data = json.loads(out.read_text(encoding="utf-8"))
        assert data["format"] == "align-calibration/2" and data["model"] == "lexical"
    a = tzpy09(run("score", str(plan), "--model", "lexical", "--calibration", str(cal_a), "-f", "json").stdout)
    b = tzpy09(run("score", str(plan), "--model", "lexical", "--calibration", str(cal_b), "-f", "json").stdout)
    # the report says which calibration made it
    assert a["calibration"] == str(cal_a) and b["calibration"] == str(cal_b)
    # labels that call international passages evidence make this plan address tzpy-09 ...
    assert a["status"] in ("covered", "partial")
    # ... and a reviewer whose labels say they are not evidence gets a checker that agrees
    assert b["score"] < a["score"] - 30, (a, b)
    assert b["status"] != "covered"


@pytest.mark.parametrize(
    "line, reason",
    [
        ('{"text": "校企合作", "labels": {"tzpy-99": "core"}}', "未知的任务编号"),
        ('{"text": "校企合作", "labels": {"tzpy-04": "yes"}}', "core 或 partial"),
        ('{"text": "校企合作", "labels": ', "不是合法的 JSON"),
        ('["not", "an", "object"]', "JSON 对象"),
        ('{"labels": {}}', "text"),
    ],
)
def test_a_bad_labels_file_is_one_line_naming_file_and_line(tmp_path, line, reason):
    f = tmp_path / "labels.jsonl"
    f.write_text('{"text": "深化产教融合，共建产业学院。", "labels": {"tzpy-04": "core"}}\n' + line + "\n",
                 encoding="utf-8")
    out = tmp_path / "cal.json"
    out.write_text("old", encoding="utf-8")
    r = run("calibrate", str(f), "--model", "lexical", "-o", str(out))
    assert r.returncode == 2
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    assert f"{f}:2:" in lines[0] and reason in lines[0]
    assert out.read_text(encoding="utf-8") == "old"  # nothing written


def test_a_calibration_for_another_model_is_refused(tmp_path):
    labels = write_labels(tmp_path / "labels.jsonl")
    cal = tmp_path / "lex.json"
    assert run("calibrate", str(labels), "--model", "lexical", "-o", str(cal)).returncode == 0
    plan = tmp_path / "plan.txt"
    plan.write_text(INTERNATIONAL + "\n", encoding="utf-8")
    r = run("score", str(plan), "--model", "use-m3", "--calibration", str(cal), "-f", "json")
    assert r.returncode == 2
    assert "另一个模型" in r.stderr or "为模型 lexical 生成" in r.stderr
