"""`align batch`: one line per plan in reports.jsonl, resume by key, a failing plan recorded while
the batch goes on, kill -9 + rerun without duplicates, and the overview files read back
(summary.csv with its BOM, summary.xlsx with openpyxl, index.html parsed).

Real plans (variants of examples/plan.txt, cut differently so each has its own content and
report) and the real lexical model, in a private cache per test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from align.batch.store import ERROR_SCHEMA, REPORTS_FILE, ReportStore, read_records
from align.cli import run

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "plan.txt"
pytestmark = pytest.mark.usefixtures("cache_dir")


def make_plans(folder: Path, n: int, *, repeat: int = 1) -> list[Path]:
    """n different real plans: the example plan with every k-th paragraph left out."""
    paras = [p for p in PLAN.read_text(encoding="utf-8").split("\n") if p.strip()]
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        k = i + 3
        kept = [p for j, p in enumerate(paras) if j < 3 or j % k != 1]
        f = folder / f"学校{i:02d}.txt"
        f.write_text("\n".join(kept * repeat) + "\n", encoding="utf-8")
        out.append(f)
    return out


def batch(capsys, *args: str) -> tuple[int, str]:
    code = run(["batch", *args, "--model", "lexical"])
    return int(code or 0), capsys.readouterr().err


def lines(outdir: Path) -> list[dict]:
    return [json.loads(x) for x in (outdir / REPORTS_FILE).read_text(encoding="utf-8").splitlines()]


def without_timing(rec: dict) -> dict:
    rec = json.loads(json.dumps(rec))
    rec["batch"].pop("seconds", None)
    return rec


def test_batch_writes_one_line_per_plan_records_failure_and_goes_on(tmp_path, capsys):
    plans = make_plans(tmp_path / "plans", 3)
    (tmp_path / "plans" / "坏文件.docx").write_bytes(b"not a zip at all")
    (tmp_path / "plans" / "空.txt").write_text("", encoding="utf-8")
    out = tmp_path / "out"
    code, err = batch(capsys, str(tmp_path / "plans"), "--out", str(out))
    assert code == 2  # some plans failed: said, and the others are scored
    assert "坏文件.docx" in err and "空.txt" in err and "文件为空" in err
    assert "━" not in err and "\r" not in err  # no progress bar when stderr is not a terminal
    recs = lines(out)
    assert len(recs) == 5
    errors = [r for r in recs if r["schema"] == ERROR_SCHEMA]
    assert sorted(Path(r["document"]["path"]).name for r in errors) == ["坏文件.docx", "空.txt"]
    assert all(r["error"] and "\n" not in r["error"] for r in errors)
    good = [r for r in recs if r["schema"] == "align-report/1"]
    assert sorted(Path(r["document"]["path"]).name for r in good) == sorted(p.name for p in plans)
    for r in good:
        assert r["model"]["name"] == "lexical"
        assert (out / r["batch"]["html"]).is_file()  # the plan's own page is beside it
        statuses = {t["status"] for s in r["policy_sets"] for t in s["tasks"]}
        assert statuses <= {"covered", "partial", "missing"} and "covered" in statuses
    # the plans differ, so do their reports
    assert len({json.dumps(r["policy_sets"], sort_keys=True) for r in good}) > 1
    for name in ("summary.csv", "summary.xlsx", "index.html"):
        assert (out / name).stat().st_size > 0


def test_rerun_resumes_and_rescores_only_what_changed(tmp_path, capsys):
    plans = make_plans(tmp_path / "plans", 3)
    out = tmp_path / "out"
    assert batch(capsys, str(tmp_path / "plans"), "--out", str(out))[0] == 0
    first = lines(out)

    code, err = batch(capsys, str(tmp_path / "plans"), "--out", str(out))
    assert code == 0 and "评分 0 份" in err and "沿用已有结果 3 份" in err
    assert lines(out) == first  # nothing rewritten, nothing duplicated

    plans[1].write_text(plans[1].read_text(encoding="utf-8") + "\n四、附则\n本方案自印发之日起施行。\n",
                        encoding="utf-8")
    code, err = batch(capsys, str(tmp_path / "plans"), "--out", str(out))
    assert code == 0 and "评分 1 份" in err and "沿用已有结果 2 份" in err
    again = lines(out)
    assert len(again) == 3
    by_file = {r["batch"]["file"]: r for r in again}
    assert len(by_file) == 3
    changed = by_file[str(plans[1].resolve())]
    assert changed["document"]["sha256"] != next(
        r for r in first if r["batch"]["file"] == str(plans[1].resolve())
    )["document"]["sha256"]

    # another policy selection is another key: everything is scored again
    code, err = batch(capsys, str(tmp_path / "plans"), "--out", str(out), "--set", "tzpy-2020")
    assert code == 0 and "评分 3 份" in err
    assert all([s["id"] for s in r["policy_sets"]] == ["tzpy-2020"] for r in lines(out))

    code, err = batch(capsys, str(tmp_path / "plans"), "--out", str(out), "--set", "tzpy-2020",
                      "--fresh")
    assert code == 0 and "评分 3 份" in err and len(lines(out)) == 3


def test_failed_plan_is_retried_on_rerun_and_replaced_once_fixed(tmp_path, capsys):
    make_plans(tmp_path / "plans", 2)
    bad = tmp_path / "plans" / "待补.txt"
    bad.write_text("", encoding="utf-8")
    out = tmp_path / "out"
    assert batch(capsys, str(tmp_path / "plans"), "--out", str(out))[0] == 2
    bad.write_text(PLAN.read_text(encoding="utf-8"), encoding="utf-8")
    code, err = batch(capsys, str(tmp_path / "plans"), "--out", str(out))
    assert code == 0 and "评分 1 份" in err
    recs = lines(out)
    assert len(recs) == 3 and not any(r["schema"] == ERROR_SCHEMA for r in recs)


def test_kill_9_then_rerun_gives_the_uninterrupted_reports_without_duplicates(tmp_path, capsys):
    make_plans(tmp_path / "plans", 8, repeat=3)  # ~45,000 characters each: seconds per plan
    ref = tmp_path / "ref"
    assert batch(capsys, str(tmp_path / "plans"), "--out", str(ref))[0] == 0
    expected = {r["batch"]["file"]: without_timing(r) for r in lines(ref)}

    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "align", "batch", str(tmp_path / "plans"), "--out", str(out),
           "--model", "lexical", "--no-cache"]  # no cache: the killed run has real work to do
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    jsonl = out / REPORTS_FILE
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if jsonl.exists() and jsonl.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = jsonl.read_bytes().count(b"\n")
    assert 2 <= done_at_kill < 8, "the run must be killed in the middle"
    # what a crash in the middle of a write leaves: half a line
    with open(jsonl, "ab") as f:
        f.write(b'{"schema":"align-report/1","document":{"path":"')

    code, err = batch(capsys, str(tmp_path / "plans"), "--out", str(out))
    assert code == 0 and f"沿用已有结果 {done_at_kill} 份" in err
    got = lines(out)
    assert len(got) == 8
    assert {r["batch"]["file"]: without_timing(r) for r in got} == expected


def test_store_drops_torn_and_superseded_lines(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    a = {"schema": "align-report/1", "document": {"path": "a.txt"}, "batch": {"file": "/a", "key": "1"}}
    a2 = {**a, "batch": {"file": "/a", "key": "2"}}
    b = {"schema": ERROR_SCHEMA, "document": {"path": "b.txt"}, "error": "x", "batch": {"file": "/b", "key": "1"}}
    raw = "".join(json.dumps(r) + "\n" for r in (a, b, a2)) + '{"schema": "align-rep'
    (out / REPORTS_FILE).write_text(raw, encoding="utf-8")
    recs, dropped = read_records(out / REPORTS_FILE)
    assert [r["batch"]["key"] for r in recs] == ["1", "2"] and dropped == 2
    with ReportStore(out) as store:
        assert store.done("/a", "2") and not store.done("/a", "1")
        assert not store.done("/b", "1")  # errors are retried
    assert [json.loads(x) for x in (out / REPORTS_FILE).read_text().splitlines()] == [b, a2]


def test_second_batch_in_the_same_folder_is_refused(tmp_path):
    from align.errors import ConfigError

    with ReportStore(tmp_path / "out"):
        with pytest.raises(ConfigError, match="另一个"):
            ReportStore(tmp_path / "out").__enter__()


def test_summary_files_read_back(tmp_path, capsys):
    import csv

    from openpyxl import load_workbook

    plans = make_plans(tmp_path / "plans", 3)
    (tmp_path / "plans" / "=cmd.txt").write_text("", encoding="utf-8")  # fails, odd name
    out = tmp_path / "out"
    batch(capsys, str(tmp_path / "plans"), "--out", str(out))
    recs = {r["document"]["path"]: r for r in lines(out) if r["schema"] == "align-report/1"}
    task_ids = [t["id"] for s in next(iter(recs.values()))["policy_sets"] for t in s["tasks"]]

    raw = (out / "summary.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    head, body = rows[0], rows[1:]
    assert head[0] == "规划 plan" and head[-1] == "错误 error"
    assert len(body) == 4
    failed = [r for r in body if r[-1]]
    assert len(failed) == 1 and failed[0][0] == "'=cmd.txt" and "文件为空" in failed[0][-1]

    wb = load_workbook(out / "summary.xlsx")
    assert wb.sheetnames == ["规划 plans", "任务 tasks"]
    ws = wb["规划 plans"]
    header = [c.value for c in ws[1]]
    assert header == head
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref.startswith("A1:")
    col = {h: i for i, h in enumerate(header)}
    labels = {"covered": "已覆盖", "partial": "部分覆盖", "missing": "未覆盖"}
    fills = {"已覆盖": "DAFBE1", "部分覆盖": "FFF8C5", "未覆盖": "FFEBE9"}
    seen = 0
    for row in ws.iter_rows(min_row=2):
        name, path = row[0].value, row[1].value
        if path not in recs:
            assert row[0].data_type == "s" and name == "=cmd.txt"  # text, not a formula
            assert "文件为空" in row[col["错误 error"]].value
            continue
        rec = recs[path]
        tasks = {t["id"]: t for s in rec["policy_sets"] for t in s["tasks"]}
        for tid in task_ids:
            status_cell = next(c for h, c in zip(header, row, strict=True) if h.startswith(tid + " ")
                               and not h.endswith("得分 score"))
            assert status_cell.value == labels[tasks[tid]["status"]]
            assert status_cell.fill.fgColor.rgb.endswith(fills[status_cell.value])
            assert row[col[f"{tid} 得分 score"]].value == pytest.approx(tasks[tid]["score"])
        for s in rec["policy_sets"]:
            share = row[col[f"{s['id']} 覆盖率 covered share"]].value
            assert share == pytest.approx(s["summary"]["covered"] / len(s["tasks"]))
        assert row[0].hyperlink.target == rec["batch"]["html"]
        seen += 1
    assert seen == 3

    wt = wb["任务 tasks"]
    trows = list(wt.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in trows] == task_ids
    for r in trows:
        tid = r[0]
        n = [sum(1 for rec in recs.values()
                 for s in rec["policy_sets"] for t in s["tasks"]
                 if t["id"] == tid and t["status"] == st) for st in labels]
        assert list(r[3:6]) == n and sum(n) == 3
        assert sum(r[6:9]) == pytest.approx(1.0)
    assert len(plans) == 3


def test_index_html_matrix_links_and_chart(tmp_path, capsys):
    from bs4 import BeautifulSoup

    make_plans(tmp_path / "plans", 2)
    (tmp_path / "plans" / "空.txt").write_text("", encoding="utf-8")
    out = tmp_path / "out"
    batch(capsys, str(tmp_path / "plans"), "--out", str(out))
    html = (out / "index.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.find_all(src=True) and not soup.find_all("link")  # nothing external
    svg = soup.find("svg")
    recs = [r for r in lines(out) if r["schema"] == "align-report/1"]
    n_tasks = sum(len(s["tasks"]) for s in recs[0]["policy_sets"])
    assert svg is not None and len(svg.find_all("g")) == n_tasks
    body = soup.select("table.m tbody tr")
    assert len(body) == 3
    failed = [tr for tr in body if "failed" in (tr.get("class") or [])]
    assert len(failed) == 1 and "文件为空" in failed[0].get_text()
    for rec in recs:
        page = rec["batch"]["html"]
        row = next(tr for tr in body if tr.th.a and tr.th.a["href"] == page)
        cells = row.find_all("td")[len(rec["policy_sets"]):]
        tasks = [t for s in rec["policy_sets"] for t in s["tasks"]]
        assert len(cells) == len(tasks)
        for td, t in zip(cells, tasks, strict=True):
            assert f"c-{t['status']}" in td["class"]
            assert td.a["href"] == f"{page}#task-{t['id']}"
        target = BeautifulSoup((out / page).read_text(encoding="utf-8"), "html.parser")
        assert target.find(id=f"task-{tasks[0]['id']}") is not None
        assert target.find("a", class_="back")["href"] == "../index.html"


def test_summarize_rewrites_overview_from_reports_jsonl_alone(tmp_path, capsys):
    make_plans(tmp_path / "plans", 2)
    out = tmp_path / "out"
    batch(capsys, str(tmp_path / "plans"), "--out", str(out))
    before = (out / "summary.csv").read_bytes()
    for name in ("summary.csv", "summary.xlsx", "index.html"):
        (out / name).unlink()
    code = run(["batch", "--summarize", str(out)])
    assert code in (0, None)
    assert (out / "summary.csv").read_bytes() == before
    assert (out / "summary.xlsx").exists() and (out / "index.html").exists()

    assert run(["batch", "--summarize", str(tmp_path / "nothing")]) == 2
    assert "reports.jsonl" in capsys.readouterr().err


def test_usage_errors_are_one_line_exit_2(tmp_path, capsys):
    assert run(["batch", str(PLAN)]) == 2
    assert "--out" in capsys.readouterr().err
    assert run(["batch", str(PLAN), "--out", str(tmp_path / "o"), "--engine", "spark"]) == 2
    assert "spark" in capsys.readouterr().err
