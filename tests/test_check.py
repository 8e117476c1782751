"""The CI gate on hand-built reports: rules, baseline regressions, diff and the CI formats.

No model here: Reports are constructed directly, so each rule is tested on exactly the
statuses and scores it must react to.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from align.check import (
    BASELINE_SCHEMA,
    RULE_EVIDENCE_LOST,
    RULE_MIN_SHARE,
    RULE_MODEL_CHANGED,
    RULE_NO_BASELINE,
    RULE_REGRESSED,
    RULE_REQUIRED,
    RULE_SCORE_DROP,
    RULE_STATUS,
    RULE_TASK_GONE,
    RULE_UNKNOWN_TASK,
    CheckResult,
    Violation,
    compare_to_baseline,
    diff_reports,
    dump_baseline,
    evaluate,
    load_baseline,
    make_baseline,
)
from align.config import AlignConfig
from align.errors import InputError
from align.report.check_formats import get_check_formatter
from align.report.diff import diff_json, diff_markdown, diff_table
from align.report.github import annotations, append_step_summary, summary_markdown
from align.types import (
    Chunk,
    DocumentInfo,
    Evidence,
    Location,
    ModelInfo,
    Report,
    SetResult,
    TaskResult,
    Threshold,
)

DATA = Path(__file__).parent / "data"


# --------------------------------------------------------------------------- builders


def ev(text: str, line: int | None = None, score: float = 0.8, page: int | None = None) -> Evidence:
    return Evidence(
        chunk_id=f"c{abs(hash(text)) % 10000:04d}",
        text=text,
        score=score,
        location=Location(start=0, end=len(text), line=line, page=page, heading="三、重点任务"),
    )


def task(tid: str, status: str, score: float, *evidence: Evidence, title: str | None = None) -> TaskResult:
    return TaskResult(
        id=tid,
        title=title or f"任务{tid}",
        score=score,
        status=status,  # type: ignore[arg-type]
        evidence=tuple(evidence),
        reason="测试用理由",
    )


def report(path: str, sets: dict[str, list[TaskResult]], model: str = "e5-small", fp: str = "fp1") -> Report:
    return Report(
        document=DocumentInfo(path=path, sha256="ab" * 32, chars=100, chunks=5, format="txt"),
        model=ModelInfo(name=model, fingerprint=fp),
        policy_sets=tuple(SetResult(id=s, title=f"政策集{s}", tasks=tuple(ts)) for s, ts in sets.items()),
        align_version="0.1.0",
    )


def supported(path: str, support: dict[str, int], n_chunks: int = 10, model: str = "e5-small",
              score: float = 90.0) -> Report:
    """A covered plan whose tasks have ``support[tid]`` passages at or above the evidence
    cut-off (chunks 0..n-1 on lines 1..n), with the best passage always kept at 90 (confidences)."""
    chunks = tuple(
        Chunk(id=f"c{i:04d}", text=f"第{i + 1}段 校企合作内容{i}", location=Location(start=i, end=i + 1, line=i + 1))
        for i in range(n_chunks)
    )
    th = Threshold(covered=75.0, partial=35.0)
    tasks, matrix = [], []
    for tid, k in support.items():
        row = tuple(90.0 if i == 0 else (50.0 if i < k else 10.0) for i in range(n_chunks))
        matrix.append(row if k else tuple(10.0 for _ in range(n_chunks)))
        tasks.append(TaskResult(id=tid, title=f"任务{tid}", score=score, status="covered",
                                evidence=(ev(chunks[0].text, line=1),), threshold=th))
    r = report(path, {"tzpy": tasks}, model=model)
    from dataclasses import replace

    return replace(r, chunks=chunks, matrix=tuple(matrix))


def plan(**statuses: tuple[str, float]) -> Report:
    """One plan, one set 'tzpy'; keyword = task id, value = (status, score)."""
    tasks = [
        task(tid, st, sc, *((ev(f"{tid} 的证据段落", line=10 + i),) if st != "missing" else ()))
        for i, (tid, (st, sc)) in enumerate(statuses.items())
    ]
    return report("plans/plan.txt", {"tzpy": tasks})


def rules(result: CheckResult) -> list[tuple[str, str | None, str]]:
    return [(v.rule, v.task_id, v.level) for v in result.violations]


# --------------------------------------------------------------------------- evaluate


def test_fail_on_and_report_on_are_separate():
    r = plan(t1=("covered", 0.9), t2=("partial", 0.5), t3=("missing", 0.1))
    res = evaluate([r], AlignConfig(fail_on=("missing",), report_on=("partial",)))
    assert rules(res) == [(RULE_STATUS, "t2", "warning"), (RULE_STATUS, "t3", "error")]
    assert res.failed and res.exit_code == 1

    only_report = evaluate([r], AlignConfig(fail_on=(), report_on=("missing", "partial")))
    assert {v.level for v in only_report.violations} == {"warning"}
    assert not only_report.failed and only_report.exit_code == 0

    silent = evaluate([r], AlignConfig(fail_on=(), report_on=()))
    assert silent.violations == () and silent.exit_code == 0


def test_status_violation_points_at_evidence_line():
    r = plan(t1=("partial", 0.5))
    (v,) = evaluate([r], AlignConfig(fail_on=("partial",), report_on=())).violations
    assert v.line == 10 and v.path == "plans/plan.txt" and v.set_id == "tzpy"
    assert "部分覆盖" in v.message_zh and "任务t1" in v.message_zh


def test_required_task_must_be_covered():
    r = plan(t1=("covered", 0.9), t2=("partial", 0.5))
    res = evaluate([r], AlignConfig(fail_on=(), report_on=(), required=("t1", "t2")))
    assert rules(res) == [(RULE_REQUIRED, "t2", "error")]
    # a required task that is also in report_on gives one violation, not two
    res2 = evaluate([r], AlignConfig(fail_on=(), report_on=("partial",), required=("t2",)))
    assert rules(res2) == [(RULE_REQUIRED, "t2", "error")]


def test_unknown_required_task_is_an_error_not_a_silent_pass():
    r = plan(t1=("covered", 0.9))
    res = evaluate([r], AlignConfig(required=("t1", "tzpy-99")))
    assert rules(res) == [(RULE_UNKNOWN_TASK, "tzpy-99", "error")]


def test_min_covered_share_per_set_and_global():
    r = report(
        "plans/plan.txt",
        {
            "a": [task("a1", "covered", 0.9), task("a2", "covered", 0.9), task("a3", "missing", 0.1)],
            "b": [task("b1", "covered", 0.9), task("b2", "partial", 0.5)],
        },
    )
    none = AlignConfig(fail_on=(), report_on=())
    # a: 2/3 covered, b: 1/2 covered
    assert evaluate([r], AlignConfig(fail_on=(), report_on=(), min_covered_share=0.6)).violations[0].set_id == "b"
    assert rules(evaluate([r], AlignConfig(fail_on=(), report_on=(), min_covered_share=0.5))) == []
    per_set = AlignConfig(fail_on=(), report_on=(), min_covered_share={"a": 0.7, "default": 0.5})
    (v,) = evaluate([r], per_set).violations
    assert (v.rule, v.set_id, v.task_id) == (RULE_MIN_SHARE, "a", None)
    assert "2/3" in v.message_zh and "70%" in v.message_zh
    # exactly at the minimum passes (2/3 is not below 2/3)
    assert evaluate([r], AlignConfig(fail_on=(), report_on=(), min_covered_share={"a": 2 / 3})).violations == ()
    assert evaluate([r], none).exit_code == 0


def test_input_errors_are_reported_and_exit_2():
    r = plan(t1=("covered", 0.9))
    res = evaluate([r], AlignConfig(), errors=[InputError("文件为空 (empty file)", path="plans/empty.txt")])
    assert res.exit_code == 2 and not res.failed
    assert res.violations[0].rule == "input-error" and res.violations[0].path == "plans/empty.txt"


# --------------------------------------------------------------------------- baseline


def test_baseline_roundtrip_and_schema(tmp_path):
    r = plan(t1=("covered", 0.9), t2=("missing", 0.1))
    b = make_baseline([r])
    assert b["schema"] == BASELINE_SCHEMA
    doc = b["documents"]["plans/plan.txt"]
    assert doc["tasks"]["t1"]["status"] == "covered" and doc["tasks"]["t1"]["score"] == 0.9
    assert doc["tasks"]["t1"]["evidence"]["line"] == 10
    assert doc["tasks"]["t2"]["evidence"] is None
    f = tmp_path / "base.json"
    f.write_text(dump_baseline(b), encoding="utf-8")
    assert load_baseline(f) == json.loads(dump_baseline(b))
    # deterministic: same reports, same bytes
    assert dump_baseline(make_baseline([r])) == dump_baseline(b)


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "不存在"),
        ("{not json", "JSON"),
        ('{"schema": "align-report/1"}', BASELINE_SCHEMA),
        ('{"schema": "align-baseline/1", "documents": {"a": 3}}', "documents"),
    ],
)
def test_bad_baseline_is_an_input_error(tmp_path, content, fragment):
    f = tmp_path / "b.json"
    if content is not None:
        f.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_baseline(f)
    assert fragment in str(ei.value) and ei.value.exit_code == 2


def test_regressions_only_against_baseline():
    base = make_baseline([plan(t1=("covered", 0.9), t2=("partial", 0.5), t3=("missing", 0.1), t4=("covered", 0.8))])
    # t1 covered->missing, t2 partial->missing: regressions; t3 stays missing: the plan's old gap,
    # not this change's fault; t4 improves nothing and loses nothing
    now = plan(t1=("missing", 0.2), t2=("missing", 0.2), t3=("missing", 0.1), t4=("covered", 0.8))
    res = compare_to_baseline([now], base, AlignConfig())
    assert rules(res) == [(RULE_REGRESSED, "t1", "error"), (RULE_REGRESSED, "t2", "error")]
    v = res.violations[0]
    assert v.before_status == "covered" and v.status == "missing"
    assert "由已覆盖降为未覆盖" in v.message_zh and "原证据" in v.message_zh and "t1 的证据段落" in v.message_zh
    assert v.line is None  # the old line means nothing in the new file
    assert res.exit_code == 1 and res.mode == "baseline"


def test_covered_to_partial_is_a_regression_and_points_at_remaining_evidence():
    base = make_baseline([plan(t1=("covered", 0.9))])
    res = compare_to_baseline([plan(t1=("partial", 0.6))], base, AlignConfig())
    (v,) = res.violations
    assert v.rule == RULE_REGRESSED and v.line == 10


def test_unchanged_or_improved_plan_passes_baseline_even_with_gaps():
    base = make_baseline([plan(t1=("covered", 0.9), t2=("missing", 0.1))])
    same = compare_to_baseline([plan(t1=("covered", 0.9), t2=("missing", 0.1))], base, AlignConfig())
    assert same.violations == () and same.exit_code == 0
    better = compare_to_baseline([plan(t1=("covered", 0.95), t2=("partial", 0.5))], base, AlignConfig())
    assert better.violations == () and better.exit_code == 0


def test_score_margin():
    """Confidences are on 0-100; the margin is in confidence points."""
    base = make_baseline([plan(t1=("covered", 90.0))])
    within = compare_to_baseline([plan(t1=("covered", 86.0))], base, AlignConfig(regression_margin=5))
    assert within.violations == ()
    exactly = compare_to_baseline([plan(t1=("covered", 85.0))], base, AlignConfig(regression_margin=5))
    assert exactly.violations == ()  # "more than the margin"
    beyond = compare_to_baseline([plan(t1=("covered", 84.0))], base, AlignConfig(regression_margin=5))
    assert rules(beyond) == [(RULE_SCORE_DROP, "t1", "error")]
    assert "90" in beyond.violations[0].message_zh and "84" in beyond.violations[0].message_zh
    loose = compare_to_baseline([plan(t1=("covered", 84.0))], base, AlignConfig(regression_margin=10))
    assert loose.violations == ()
    default = compare_to_baseline([plan(t1=("covered", 79.0))], base, AlignConfig())
    assert rules(default) == [(RULE_SCORE_DROP, "t1", "error")]  # 11 points > the default 10


def test_lost_evidence_is_a_regression_even_when_the_score_holds():
    base = make_baseline([supported("plans/plan.txt", {"t1": 8, "t2": 6, "t3": 2, "t4": 1})])
    assert len(base["documents"]["plans/plan.txt"]["tasks"]["t1"]["support"]) == 8
    # t1 8 -> 3 (lost 62%), t2 6 -> 4 (lost 33%), t3 2 -> 0 (lost both), t4 1 -> 0 (only one)
    now = supported("plans/plan.txt", {"t1": 3, "t2": 4, "t3": 0, "t4": 0})
    res = compare_to_baseline([now], base, AlignConfig())
    assert rules(res) == [(RULE_EVIDENCE_LOST, "t1", "error"), (RULE_EVIDENCE_LOST, "t3", "error")]
    msg = res.violations[0].message_zh
    assert "由 8 段减至 3 段" in msg and "第4行" in msg and "等 5 段" in msg
    assert res.violations[0].score == res.violations[0].before_score == 90.0
    strict = compare_to_baseline([now], base, AlignConfig(evidence_margin=0.3))
    assert [v.task_id for v in strict.violations] == ["t1", "t2", "t3"]
    loose = compare_to_baseline([now], base, AlignConfig(evidence_margin=1.0))
    assert loose.violations == ()
    same = compare_to_baseline([supported("plans/plan.txt", {"t1": 8, "t2": 6, "t3": 2, "t4": 1})], base, AlignConfig())
    assert same.violations == ()


def test_score_drop_and_lost_evidence_give_one_finding_that_says_both():
    base = make_baseline([supported("plans/plan.txt", {"t1": 8})])
    res = compare_to_baseline([supported("plans/plan.txt", {"t1": 2}, score=70.0)], base, AlignConfig())
    (v,) = res.violations
    assert v.rule == RULE_SCORE_DROP
    assert "90 降至 70" in v.message_zh and "由 8 段减至 2 段" in v.message_zh
    assert "不再支撑的段落" in v.message_zh


def test_lost_evidence_not_compared_across_models():
    base = make_baseline([supported("plans/plan.txt", {"t1": 8})])
    res = compare_to_baseline([supported("plans/plan.txt", {"t1": 1}, model="use-m3")], base, AlignConfig())
    assert rules(res) == [(RULE_MODEL_CHANGED, None, "warning")]


def test_verified_onnx_and_torch_baselines_compare_scores_but_int8_does_not():
    """ONNX Runtime's fp32 export names the torch vectors it was verified to reproduce, so a
    baseline from either backend still catches a score drop; an unverified backend does not."""
    import dataclasses

    def with_model(r: Report, fp: str, **extra: str) -> Report:
        return dataclasses.replace(r, model=ModelInfo(name="e5-small", fingerprint=fp, extra=extra))

    torch_run = with_model(plan(t1=("covered", 0.9)), "torch-fp")
    onnx_run = with_model(plan(t1=("covered", 0.6)), "onnx-fp", same_vectors_as="torch-fp")
    int8_run = with_model(plan(t1=("covered", 0.6)), "int8-fp")
    for base_run, new_run in ((torch_run, onnx_run), (with_model(torch_run, "onnx-fp", same_vectors_as="torch-fp"), onnx_run)):
        res = compare_to_baseline([new_run], make_baseline([base_run]), AlignConfig(regression_margin=0.05))
        assert RULE_MODEL_CHANGED not in {v.rule for v in res.violations}
        assert RULE_SCORE_DROP in {v.rule for v in res.violations}
    res = compare_to_baseline([int8_run], make_baseline([torch_run]), AlignConfig(regression_margin=0.05))
    assert [v.rule for v in res.violations] == [RULE_MODEL_CHANGED]


def test_model_change_compares_statuses_only():
    base = make_baseline([plan(t1=("covered", 0.9), t2=("covered", 0.9))])
    other = report("plans/plan.txt", {"tzpy": [task("t1", "covered", 0.3), task("t2", "missing", 0.1)]}, model="use-m3")
    res = compare_to_baseline([other], base, AlignConfig())
    assert rules(res) == [(RULE_MODEL_CHANGED, None, "warning"), (RULE_REGRESSED, "t2", "error")]


def test_document_not_in_baseline_is_judged_by_rules():
    base = make_baseline([plan(t1=("covered", 0.9))])
    new = report("plans/new.txt", {"tzpy": [task("t1", "missing", 0.1)]})
    res = compare_to_baseline([new], base, AlignConfig(fail_on=("missing",)))
    assert rules(res) == [(RULE_NO_BASELINE, None, "notice"), (RULE_STATUS, "t1", "error")]


def test_task_dropped_from_policy_sets_is_a_warning():
    base = make_baseline([plan(t1=("covered", 0.9), t2=("covered", 0.9))])
    res = compare_to_baseline([plan(t1=("covered", 0.9))], base, AlignConfig())
    assert rules(res) == [(RULE_TASK_GONE, "t2", "warning")]
    assert res.exit_code == 0


def test_baseline_matches_absolute_and_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plans").mkdir()
    base = make_baseline([plan(t1=("covered", 0.9))])  # stored as plans/plan.txt
    absolute = report(str(tmp_path / "plans" / "plan.txt"), {"tzpy": [task("t1", "missing", 0.1)]})
    res = compare_to_baseline([absolute], base, AlignConfig())
    assert rules(res) == [(RULE_REGRESSED, "t1", "error")]
    assert res.violations[0].path == "plans/plan.txt"


# --------------------------------------------------------------------------- diff


def test_diff_reports_status_score_and_evidence():
    old = report("old.txt", {"s": [
        task("t1", "covered", 0.9, ev("深化产教融合，校企共建产业学院", line=60)),
        task("t2", "partial", 0.5, ev("教师培训", line=80)),
        task("t3", "covered", 0.8, ev("数字校园", line=90)),
    ]})
    new = report("new.txt", {"s": [
        task("t1", "missing", 0.2),
        task("t2", "covered", 0.85, ev("教师培训", line=70), ev("双师型教师队伍建设", line=72)),
        task("t4", "partial", 0.5, ev("新任务", line=5)),
    ]})
    d = diff_reports(old, new)
    by = {t.task_id: t for t in d.tasks}
    assert [t.task_id for t in d.tasks] == ["t1", "t2", "t4", "t3"]
    assert by["t1"].change == "regressed" and [e.text for e in by["t1"].disappeared] == ["深化产教融合，校企共建产业学院"]
    assert by["t2"].change == "improved" and [e.text for e in by["t2"].appeared] == ["双师型教师队伍建设"]
    assert by["t2"].disappeared == ()  # same text on another line is the same evidence
    assert by["t4"].change == "added" and by["t3"].change == "removed"
    assert by["t1"].delta == pytest.approx(-0.7)

    j = json.loads(diff_json(d))
    assert j["schema"] == "align-diff/1"
    t1 = next(t for t in j["tasks"] if t["id"] == "t1")
    assert t1["before"] == {"status": "covered", "score": 0.9} and t1["after"]["status"] == "missing"
    assert t1["disappeared"][0]["location"]["line"] == 60

    table = diff_table(d)
    assert "t1" in table and "退步" in table and "- 深化产教融合" in table and "+ 双师型" in table
    md = diff_markdown(d)
    assert "| `t1` |" in md and "➖ 深化产教融合" in md and "<details>" in md


def test_diff_counts_supporting_passages():
    d = diff_reports(supported("a.txt", {"t1": 8, "t2": 3}), supported("b.txt", {"t1": 3, "t2": 3}))
    by = {t.task_id: t for t in d.tasks}
    assert (by["t1"].before_support, by["t1"].after_support, by["t1"].change) == (8, 3, "evidence-down")
    assert by["t2"].change == "same"
    assert "8→3" in diff_table(d) and "证据减少" in diff_table(d)
    assert json.loads(diff_json(d))["tasks"][0]["support"] == {"before": 8, "after": 3}


def test_diff_of_identical_reports_lists_no_change():
    r = plan(t1=("covered", 0.9))
    d = diff_reports(r, r)
    assert d.changed() == [] and d.counts() == {"same": 1}
    assert "没有任务发生变化" in diff_table(d)
    assert "| `t1` |" in diff_markdown(d, all_tasks=True)


# --------------------------------------------------------------------------- github


def _violations(n: int, level: str, path: str = "plans/plan.txt") -> list[Violation]:
    return [
        Violation(rule=RULE_STATUS, task_id=f"{level[0]}{i}", set_id="s", path=path,
                  message_zh=f"第{i}项", line=i + 1, level=level)  # type: ignore[arg-type]
        for i in range(n)
    ]


def _levels(lines: list[str]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "notice": 0}
    for ln in lines:
        for k in out:
            if ln.startswith(f"::{k} "):
                out[k] += 1
    return out


def test_annotation_format_and_escaping():
    v = Violation(rule=RULE_REGRESSED, task_id="tzpy-03", set_id="s", path="plans/a,b:c.txt",
                  message_zh="100% 退步\n第二行", line=12, level="error")
    (line,) = annotations(CheckResult((v,)))
    assert line == (
        "::error file=plans/a%2Cb%3Ac.txt,line=12,title=align regressed tzpy-03::100%25 退步%0A第二行"
    )
    no_line = Violation(rule=RULE_STATUS, task_id="t", set_id="s", path="plan.pdf",
                        message_zh="未覆盖", line=None, page=3, level="warning")
    (line2,) = annotations(CheckResult((no_line,)))
    assert line2.startswith("::warning file=plan.pdf,title=") and "line=" not in line2
    assert "第3页" in line2


def test_annotation_cap_with_overflow_notice():
    vs = _violations(14, "error") + _violations(3, "warning") + _violations(10, "notice")
    lines = annotations(CheckResult(tuple(vs)), cap=10)
    counts = _levels(lines)
    assert counts == {"error": 10, "warning": 3, "notice": 10}  # 9 notices + the overflow notice
    overflow = [ln for ln in lines if "未显示" in ln]
    assert len(overflow) == 1 and overflow[0].startswith("::notice")
    assert "错误 4 条" in overflow[0] and "提示 1 条" in overflow[0] and "警告" not in overflow[0]


def test_no_overflow_notice_when_under_cap():
    lines = annotations(CheckResult(tuple(_violations(10, "error") + _violations(10, "notice"))), cap=10)
    assert _levels(lines) == {"error": 10, "warning": 0, "notice": 10}
    assert not any("未显示" in ln for ln in lines)


def test_cap_comes_from_config():
    res = CheckResult(tuple(_violations(5, "warning")), config=AlignConfig(annotation_cap=2))
    lines = annotations(res)
    assert _levels(lines) == {"error": 0, "warning": 2, "notice": 1}
    assert "警告 3 条" in lines[-1]


def test_github_format_and_step_summary(tmp_path, monkeypatch):
    r = plan(t1=("covered", 0.9), t2=("missing", 0.1))
    res = evaluate([r], AlignConfig())
    out = get_check_formatter("github").format(res, [r])
    assert out.splitlines()[0].startswith("::error file=plans/plan.txt,title=align status t2::")
    assert "未通过" in out.splitlines()[-1]
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert append_step_summary(res, [r]) == summary
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")  # appended, not overwritten
    assert "政策对标检查" in text and "| 错误 | `status` |" in text
    assert "政策对标报告" in text  # the full markdown report follows
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert append_step_summary(res, [r]) is None
    assert "t2" in summary_markdown(res, [r])


# --------------------------------------------------------------------------- sarif


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _mixed_result() -> tuple[CheckResult, list[Report]]:
    base = make_baseline([plan(t1=("covered", 0.9), t2=("covered", 0.9), t3=("missing", 0.1))])
    now = [
        report("plans/plan.txt", {"tzpy": [
            task("t1", "partial", 0.6, ev("校企合作", line=42)), task("t2", "missing", 0.1),
            task("t3", "missing", 0.1)]}),
        report("plans/新规划.txt", {"tzpy": [task("t1", "missing", 0.1), task("t2", "covered", 0.9),
                                             task("t3", "missing", 0.1)]}),
    ]
    res = compare_to_baseline(now, base, AlignConfig(min_covered_share=0.5),
                              errors=[InputError("文件为空 (empty file)", path="plans/empty.txt")])
    return res, now


def test_sarif_is_valid_and_has_one_rule_per_task(sarif_validator):
    res, reports = _mixed_result()
    log = json.loads(get_check_formatter("sarif").format(res, reports))
    errors = sorted(sarif_validator.iter_errors(log), key=str)
    assert errors == [], errors[0].message if errors else ""
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids[:3] == ["t1", "t2", "t3"] and len(rule_ids) == len(set(rule_ids))
    results = run["results"]
    assert {r["ruleId"] for r in results} >= {"t1", "t2", "align/input-error"}
    for r in results:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    t1 = next(r for r in results if r["ruleId"] == "t1" and r["properties"]["alignRule"] == RULE_REGRESSED)
    loc = t1["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "plans/plan.txt" and loc["region"]["startLine"] == 42
    assert t1["level"] == "error" and t1["properties"]["before_status"] == "covered"
    notes = [r for r in results if r["level"] == "note"]
    assert notes and all(r["properties"]["alignRule"] == RULE_NO_BASELINE for r in notes)
    # non-ASCII names are percent-encoded URIs
    assert any("%E6%96%B0" in a["location"]["uri"] for a in run["artifacts"])


def test_sarif_validator_catches_a_broken_log(sarif_validator):
    """The schema check would fail a wrong log (so the test above can fail)."""
    res, reports = _mixed_result()
    log = json.loads(get_check_formatter("sarif").format(res, reports))
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert list(sarif_validator.iter_errors(log))
    del log["version"]
    assert list(sarif_validator.iter_errors(log))


def test_sarif_for_a_clean_pass(sarif_validator):
    r = plan(t1=("covered", 0.9))
    log = json.loads(get_check_formatter("sarif").format(evaluate([r], AlignConfig()), [r]))
    assert list(sarif_validator.iter_errors(log)) == []
    assert log["runs"][0]["results"] == [] and log["version"] == "2.1.0"


# --------------------------------------------------------------------------- junit


def test_junit_one_case_per_task_failures_for_broken_rules():
    res, reports = _mixed_result()
    root = ET.fromstring(get_check_formatter("junit").format(res, reports))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"plans/plan.txt", "plans/新规划.txt", "plans/empty.txt"}
    s1 = suites["plans/plan.txt"]
    cases = {c.get("name").split()[0]: c for c in s1.findall("testcase")}
    assert {"t1", "t2", "t3"} <= set(cases)
    assert cases["t1"].find("failure").get("type") == RULE_REGRESSED
    assert cases["t2"].find("failure") is not None
    assert cases["t3"].find("failure") is None  # missing before and after: not a regression
    assert int(s1.get("failures")) == len(s1.findall("testcase/failure"))
    assert int(s1.get("tests")) == len(s1.findall("testcase"))
    assert suites["plans/empty.txt"].find("testcase/error") is not None
    total_fail = sum(int(s.get("failures")) for s in root.findall("testsuite"))
    assert int(root.get("failures")) == total_fail and int(root.get("errors")) == 1


def test_junit_rules_mode_with_min_share_case():
    r = report("p.txt", {"a": [task("a1", "covered", 0.9), task("a2", "missing", 0.1)]})
    res = evaluate([r], AlignConfig(fail_on=(), report_on=("missing",), min_covered_share=0.9))
    root = ET.fromstring(get_check_formatter("junit").format(res, [r]))
    cases = root.findall("testsuite/testcase")
    assert [c.get("name").split()[0] for c in cases] == ["a1", "a2", "a"]
    assert cases[1].find("failure") is None and "warning" in cases[1].find("system-out").text
    assert cases[2].find("failure").get("type") == RULE_MIN_SHARE
    assert root.get("failures") == "1"


# --------------------------------------------------------------------------- text / json


def test_text_and_json_formats():
    r = plan(t1=("covered", 0.9), t2=("missing", 0.1))
    res = evaluate([r], AlignConfig())
    text = get_check_formatter("text").format(res, [r])
    assert "plans/plan.txt" in text and "[t2]" in text and "未通过" in text
    j = json.loads(get_check_formatter("json").format(res, [r]))
    assert j["passed"] is False and j["exit_code"] == 1 and j["violations"][0]["task_id"] == "t2"
    ok = evaluate([plan(t1=("covered", 0.9))], AlignConfig())
    assert "通过 PASSED" in get_check_formatter("text").format(ok, [])


def test_unknown_check_format():
    from align.errors import AlignError

    with pytest.raises(AlignError, match="未知的检查输出格式"):
        get_check_formatter("xml")


# --------------------------------------------------------------------------- CLI (fake scorer)


class FakeScorer:
    """Stands in for the pipeline: a plan's 'score' is read from its text, one task per line
    ``id status score``; a file named empty.txt is an input error."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def _report(self, path: Path) -> Report:
        tasks = []
        for i, ln in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
            tid, st, sc = ln.split()
            tasks.append(task(tid, st, float(sc), *((ev(f"{tid} 证据", line=i + 1),) if st != "missing" else ())))
        return report(str(path), {"tzpy": tasks})

    def score_path(self, path, *, encoding=None):
        self.paths.append(str(path))
        if Path(path).name == "empty.txt":
            raise InputError("文件为空 (empty file)", path=str(path))
        return self._report(Path(path))

    def score_paths(self, paths, *, encoding=None):
        out = []
        for p in paths:
            try:
                out.append(self.score_path(p))
            except InputError as e:
                out.append(e)
        return out


@pytest.fixture
def cli(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import align.cli.check as cli_check
    from align.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(cli_check, "_scorer", lambda cfg, opts: FakeScorer())
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "plan.txt").write_text("t1 covered 0.9\nt2 partial 0.5\nt3 missing 0.1\n", encoding="utf-8")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


def test_cli_check_exit_codes(cli, tmp_path):
    r = cli("check", "plans/plan.txt")
    assert r.exit_code == 1 and "[t3]" in r.stdout and "未通过" in r.stdout
    (tmp_path / "align.toml").write_text("fail_on = []\nreport_on = ['missing']\n", encoding="utf-8")
    r = cli("check", "plans/plan.txt")
    assert r.exit_code == 0 and "通过 PASSED" in r.stdout
    (tmp_path / "align.toml").write_text("fail_on = ['gone']\n", encoding="utf-8")
    r = cli("check", "plans/plan.txt")
    assert r.exit_code == 2 and "align.toml:1:" in r.stderr and "未知状态" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_cli_check_input_error_and_bad_format(cli, tmp_path):
    (tmp_path / "plans" / "empty.txt").write_text("", encoding="utf-8")
    r = cli("check", "plans/plan.txt", "plans/empty.txt", "--format", "junit")
    assert r.exit_code == 2 and "文件为空" in r.stderr
    root = ET.fromstring(r.stdout)
    assert root.find("testsuite/testcase/error") is not None
    r = cli("check", "plans/plan.txt", "--format", "xml")
    assert r.exit_code == 2 and "未知的输出格式" in r.stderr


def test_cli_baseline_then_check(cli, tmp_path):
    r = cli("baseline", "plans/plan.txt", "--output", "base.json")
    assert r.exit_code == 0, r.stderr
    assert json.loads((tmp_path / "base.json").read_text(encoding="utf-8"))["documents"]["plans/plan.txt"]
    r = cli("check", "plans/plan.txt", "--baseline", "base.json")
    assert r.exit_code == 0, r.stdout  # t3 missing before and after: not this change's fault
    (tmp_path / "plans" / "plan.txt").write_text("t1 partial 0.6\nt2 partial 0.5\nt3 missing 0.1\n", encoding="utf-8")
    r = cli("check", "plans/plan.txt", "--baseline", "base.json", "--format", "json")
    assert r.exit_code == 1
    j = json.loads(r.stdout)
    assert [(v["rule"], v["task_id"]) for v in j["violations"]] == [("regressed", "t1")]
    # the config's baseline is used when --baseline is not given, and --no-baseline ignores it
    (tmp_path / "align.toml").write_text('baseline = "base.json"\nfail_on = []\n', encoding="utf-8")
    assert cli("check", "plans/plan.txt").exit_code == 1
    assert cli("check", "plans/plan.txt", "--no-baseline").exit_code == 0
    r = cli("check", "plans/plan.txt", "--baseline", "nope.json")
    assert r.exit_code == 2 and "基线文件不存在" in r.stderr


def test_cli_baseline_refuses_unreadable_plans(cli, tmp_path):
    (tmp_path / "plans" / "empty.txt").write_text("", encoding="utf-8")
    r = cli("baseline", "plans/plan.txt", "plans/empty.txt", "--output", "base.json")
    assert r.exit_code == 2 and not (tmp_path / "base.json").exists()


def test_cli_github_format_writes_step_summary(cli, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    r = cli("check", "plans/plan.txt", "--format", "github")
    assert r.exit_code == 1
    assert r.stdout.startswith("::error file=plans/plan.txt,title=align status t3::")
    assert "::warning file=plans/plan.txt,line=2," in r.stdout
    assert "t3" in summary.read_text(encoding="utf-8")


def test_cli_sarif_output_file(cli, tmp_path, sarif_validator):
    r = cli("check", "plans/plan.txt", "--format", "sarif", "--output", "out/align.sarif")
    assert r.exit_code == 1 and r.stdout == ""
    log = json.loads((tmp_path / "out" / "align.sarif").read_text(encoding="utf-8"))
    assert list(sarif_validator.iter_errors(log)) == []


def test_cli_diff_files_and_git_revisions(cli, tmp_path):
    import shutil
    import subprocess

    new = tmp_path / "plans" / "new.txt"
    new.write_text("t1 missing 0.2\nt2 covered 0.8\nt3 missing 0.1\n", encoding="utf-8")
    r = cli("diff", "plans/plan.txt", "plans/new.txt", "--format", "json")
    assert r.exit_code == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["old"] == "plans/plan.txt"
    changes = {t["id"]: t["change"] for t in j["tasks"]}
    assert changes == {"t1": "regressed", "t2": "improved", "t3": "same"}
    r = cli("diff", "plans/plan.txt", "plans/new.txt")
    rows = r.stdout.splitlines()
    assert r.exit_code == 0 and any(ln.startswith("t1 ") for ln in rows)
    assert not any(ln.startswith("t3 ") for ln in rows)  # unchanged tasks only with --all
    assert "| `t1` |" in cli("diff", "plans/plan.txt", "plans/new.txt", "-f", "markdown").stdout
    if shutil.which("git"):
        env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@x", "PATH": __import__("os").environ["PATH"]}
        for args in (["init", "-q"], ["add", "plans/plan.txt"], ["commit", "-q", "-m", "x"]):
            subprocess.run(["git", *args], cwd=tmp_path, check=True, env=env, capture_output=True)
        (tmp_path / "plans" / "plan.txt").write_text(new.read_text(encoding="utf-8"), encoding="utf-8")
        r = cli("diff", "HEAD:plans/plan.txt", "plans/plan.txt", "--format", "json")
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout)["old"] == "HEAD:plans/plan.txt"
        assert {t["id"]: t["change"] for t in json.loads(r.stdout)["tasks"]}["t1"] == "regressed"
        r = cli("diff", "HEAD:plans/nope.txt", "plans/plan.txt")
        assert r.exit_code == 2 and "无法从 git 读取" in r.stderr
