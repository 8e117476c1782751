"""可考核: extraction of targets, time nodes and owners, the per-task verdict, and where it shows
(JSON report, table, markdown, HTML, `align check`, `align targets`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from builders import report as build_report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from align.assess import PlanTime, annotate_sets, assess_task, extract, plan_time
from align.check import RULE_ASSESSABLE, RULE_UNKNOWN_TASK, evaluate
from align.config import AlignConfig, parse_config
from align.errors import ConfigError
from align.types import (
    Chunk,
    Evidence,
    Location,
    Report,
    SetResult,
    TaskResult,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "plan.txt"
SCHEMA = REPO / "src" / "align" / "schemas" / "align-report-1.json"


def targets(text: str) -> list[tuple[object, str]]:
    return [(t.value, t.unit) for t in extract(text).targets]


def dates(text: str, year: int | None = None) -> list[str | None]:
    return [d.date for d in extract(text, PlanTime(year=year)).deadlines]


def owners(text: str) -> list[str]:
    return [o.name for o in extract(text).owners]


# ----------------------------------------------------------------------------- targets


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("新增“双师”资格教师30名以上", [(30, "名")]),
        ("专业课教师双师型比例达到60%", [(60, "%")]),
        ("毕业生就业率保持在98%以上", [(98, "%")]),
        ("生师比不高于1:18", [("1:18", "比")]),
        ("投入专项资金500万元", [(500, "万元")]),
        ("校企共建产业学院由2个增加到6个", [(6, "个")]),
        ("每年评选三十名优秀教师", [(30, "名")]),
        ("从两个层面推进", [(2, "个")]),
        ("占比达到一半", [(50, "%")]),
        ("年招生3万人以上，在校生9万余人", [(3, "万人"), (9, "万人")]),
        ("硕士学位点总量力争达到7-9个", [(7, "个")]),
        ("累计培养30余学生", [(30, "")]),
        ("粮食产能迈上1.4万亿斤台阶", [(1.4, "万亿斤")]),
        ("不少于16学时的劳动教育课程", [(16, "学时")]),
        ("较上年提高2个百分点", [(2, "个百分点")]),
        ("每年至少召开一次会议", [(1, "次")]),  # after a lower bound 一 counts
        ("必须在30分钟内报告", [(30, "分钟")]),
        ("涉及企事业单位和学校近百家", [(100, "家")]),
        ("由5所学校组成联盟", [(5, "所")]),  # 由 without 增加到 is not a change
        ("百分之九十五", [(95, "%")]),
        ("６０％以上", [(60, "%")]),
        ("年培训量达1.5万人次", [(1.5, "万人次")]),
        ("1.33 亿元", [(1.33, "亿元")]),  # a decimal at a line start is not a section number
        ("建设面积5.6万平方米", [(5.6, "万平方米")]),
        ("生师比控制在18:1以内", [("18:1", "比")]),
    ],
)
def test_targets_found(text: str, want: list[tuple[object, str]]) -> None:
    assert targets(text) == want


def test_target_fields() -> None:
    t = extract("省级高水平专业群由1个增加到3个；就业率达到95%以上").targets
    assert (t[0].value, t[0].from_value, t[0].comparator) == (3, 1, "由…增加到")
    assert t[0].text == "由1个增加到3个" and "专业群" in t[0].measured
    assert (t[1].comparator, t[1].measured) == ("达到…以上", "就业率")
    a, b = extract("建成国家级教学团队1个、省级2个").targets
    assert (a.measured, b.measured) == ("国家级教学团队", "省级")
    rng = extract("新增 2-3 个具有学校特色的上海市级学科平台").targets[0]
    assert (rng.value, rng.upper) == (2, 3) and rng.measured == "上海市级学科平台"


@pytest.mark.parametrize(
    "text",
    [
        "2025年建成",  # a year is a time node, not a target
        "第四十三章 建设高质量教育体系",
        "在第45届世界技能大赛中获得金牌",
        "第五次党代会",
        "联系电话：021-64321234，手机13812345678",
        "3.2 节规定；1、加强领导",
        "促进2021届毕业生就业",
        "庆祝建校60周年",
        "实施五年一轮的专业评估，延长30年",
        "《中国教育现代化2035》",
        "沪二工大教〔2024〕161号",
        "增强“四个意识”，服务“五个中心”建设，落实中央八项规定精神",
        "落实上海“公共卫生建设20条”",
        "建设一批一流专业，打造一支高素质队伍",
        "统一部署，进一步提高，十四五规划",
        "依托中物院六所，实现零成本上学，零的突破",
        "每日8：00至16：00开放",
        "二级学院、二类高原学科、四期土地",
        "破除城乡二元结构",
        "每个专业群共建一个产业学院",  # 一 + measure word is the indefinite article
        "“十四五”1个主规划",  # the count is after the quote, not in it
    ],
)
def test_look_alikes_are_not_targets(text: str) -> None:
    got = targets(text)
    if text.startswith("“十四五”"):
        assert got == [(1, "个")]
    else:
        assert got == []


# ----------------------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    ("text", "year", "want"),
    [
        ("2025年完成", None, ["2025"]),
        ("2023年6月前验收", None, ["2023-06"]),
        ("2024 年9 月20 日印发", None, ["2024-09-20"]),
        ("2023年底前完成", None, ["2023-12"]),
        ("3月启动、12月验收", 2024, ["2024-03", "2024-12"]),
        ("3月启动", None, [None]),  # no year known: kept as relative
        ("2025年3月启动、12月验收", None, ["2025-03", "2025-12"]),
        ("年底前完成", 2022, ["2022-12"]),
        ("力争二季度取得许可证", 2020, ["2020-04/2020-06"]),
        ("第三季度完成", 2024, ["2024-07/2024-09"]),
        ("上半年完成", 2021, ["2021-01/2021-06"]),
        ("2021—2023年分三批实施", None, ["2021/2023"]),
        ("“十四五”期间建成", None, ["2021/2025"]),
        ("“十三五”末", None, ["2020"]),
        ("每学期开展一次", None, [None]),
        ("每半年召开，每年报告", None, [None, None]),
        ("每年3月上报", 2020, [None, "2020-03"]),
        ("2021-2022学年完成", None, ["2021/2022"]),
        ("2024年1-6月开展", None, ["2024-01/2024-06"]),
        ("3-5月开展", 2024, ["2024-03/2024-05"]),
        ("2025年前完成", None, ["2025"]),
        ("2025年前后建成", None, ["2025"]),
        ("二〇二五年建成", None, ["2025"]),
        ("2023年12月31日前", None, ["2023-12-31"]),
        ("2022年第一季度", None, ["2022-01/2022-03"]),
    ],
)
def test_deadlines(text: str, year: int | None, want: list[str | None]) -> None:
    assert dates(text, year) == want


def test_deadline_kinds() -> None:
    got = {d.text: d.kind for d in extract("年底前启动，每学期检查，2021—2023年实施").deadlines}
    assert got == {"每学期": "recurring", "2021—2023年": "period", "年底前": "relative"}
    # a year written earlier in the passage dates what follows
    later = extract("2021—2023年实施，年底前完成").deadlines
    assert [(d.text, d.date) for d in later] == [("2021—2023年", "2021/2023"), ("年底前", "2023-12")]


@pytest.mark.parametrize(
    "text",
    [
        "《中国教育现代化2035》",
        "教职成〔2020〕7号",
        "促进2021届毕业生就业",
        "建党100周年",
        "“十四五”规划编制",  # the plan's name, not a time node
    ],
)
def test_look_alikes_are_not_deadlines(text: str) -> None:
    assert dates(text) == []


def test_plan_time_from_title() -> None:
    assert plan_time("上海第二工业大学2021年党政工作要点\n2021 年是……").year == 2021
    p = plan_time("某学院“十四五”发展规划（2021-2025年）\n")
    assert p.period == (2021, 2025) and p.year is None
    assert plan_time("学生公寓服务规范\n").year is None
    assert plan_time("某学院2024年提质培优任务分解表\n").year == 2024
    assert plan_time("关于印发《中国教育现代化2035》的通知\n").year is None


# ----------------------------------------------------------------------------- owners


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("人事处牵头、各二级学院配合", ["人事处", "各二级学院"]),
        ("由招生就业处负责", ["招生就业处"]),
        ("责任部门：教务处、学生处", ["教务处", "学生处"]),
        ("区人力资源社会保障局牵头建立企业人才需求库", ["区人力资源社会保障局"]),
        ("校党委要牵头抓总", ["校党委"]),
        ("教务处、人事处牵头，各二级学院配合", ["教务处", "人事处", "各二级学院"]),
        ("工作任务\n人事处、各二级学院\n", ["人事处", "各二级学院"]),
        # a name cut by a PDF line wrap, with an ordinal inside
        ("联合体由上海\n第二工业大学牵头", ["上海第二工业大学"]),
        # the verb has no name before it: the unit is the subject of its sentence
        ("第九条贯通教育领导小组是联合体的决策机构，负责联合体运作的整体规划", ["贯通教育领导小组"]),
        ("相关职能部处及相关学院组织有关人员，具体负责。", ["相关职能部处", "相关学院"]),
        ("党委办公室等是党委抓全面从严治党的具体执行部门", ["党委办公室"]),
        # a table row as the docx / html readers give it: the 责任部门 cell
        ("完善双师型教师认定办法 | 2024年6月 | 新增30名 | 人事处、各二级学院", ["人事处", "各二级学院"]),
        ("建设产业学院 | 12月底前 | 校企合作办公室（牵头）、各二级学院（配合）",
         ["校企合作办公室", "各二级学院"]),
        ("责任单位：人事处（牵头）、各二级学院", ["人事处", "各二级学院"]),
    ],
)
def test_owners(text: str, want: list[str]) -> None:
    assert owners(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "落实党委领导下的校长负责制",
        "各部门主要负责人为第一责任人",
        "安排专人负责日常保洁",
        "健全党政分工负责的工作机制",
        "形成牵头部门和协同部门联动",
        "加强与法律实务部门协同",
        "双高办组织召开“双高计划”推进情况汇报会",
        "引导企业牵头组建创新联合体",
        "形成党委统一领导、部门分工负责的体制",
        "各中职校负责贯通专业课程教学任务的教师组成",
        "7.深化教学质量保证体系",
        "对人为损坏的设施设备，负责调查取证",
    ],
)
def test_look_alikes_are_not_owners(text: str) -> None:
    assert owners(text) == []


def test_nothing_in_a_vague_passage() -> None:
    c = extract("进一步加强师资队伍建设，不断提升人才培养质量，持续深化产教融合。")
    assert (c.targets, c.deadlines, c.owners) == ((), (), ())


# ----------------------------------------------------------------------------- verdict


def _chunk(cid: str, text: str) -> Chunk:
    return Chunk(cid, text, Location(0, len(text)))


def _task(tid: str, status: str, chunk_ids: list[str], chunks: dict[str, Chunk]) -> TaskResult:
    ev = tuple(Evidence(c, chunks[c].text, 1.0, chunks[c].location) for c in chunk_ids)
    return TaskResult(tid, f"任务{tid}", 6.0, status, ev)  # type: ignore[arg-type]


CHUNKS = {
    "c1": _chunk("c1", "到2023年，新增“双师型”教师30名以上，人事处牵头。"),
    "c2": _chunk("c2", "专业课教师双师型比例达到60%。"),
    "c3": _chunk("c3", "进一步加强师资队伍建设。"),
    "c4": _chunk("c4", "每学期开展教学检查。"),
}


def _sets() -> tuple[SetResult, ...]:
    tasks = (
        _task("t1", "covered", ["c1", "c3"], CHUNKS),  # target + date: assessable
        _task("t2", "covered", ["c2"], CHUNKS),  # target only: partly
        _task("t3", "covered", ["c3"], CHUNKS),  # neither: vague
        _task("t4", "partial", ["c4", "c4"], CHUNKS),  # recurring time node only: partly
        _task("t5", "missing", [], CHUNKS),
    )
    return annotate_sets((SetResult("s", "集", tasks),), CHUNKS.values())


def test_verdict_per_task() -> None:
    got = {t.id: t.assessable for t in _sets()[0].tasks}
    assert {k: v.verdict for k, v in got.items()} == {
        "t1": "assessable", "t2": "partly", "t3": "vague", "t4": "partly", "t5": "vague",
    }
    a = got["t1"]
    assert [(x.value, x.unit, x.chunk_id) for x in a.targets] == [(30, "名", "c1")]
    assert [(d.date, d.chunk_id) for d in a.deadlines] == [("2023", "c1")]
    assert a.owners == ("人事处",)
    assert len(got["t4"].deadlines) == 1  # the same passage twice counts once


def test_assess_task_reads_only_the_evidence() -> None:
    t = _task("t", "covered", ["c3"], CHUNKS)
    by_chunk = {cid: extract(c.text) for cid, c in CHUNKS.items()}
    assert assess_task(t, by_chunk).verdict == "vague"


def _report() -> Report:
    return build_report(_sets(), chunks=tuple(CHUNKS.values()))


def test_json_report_carries_the_verdict_and_validates() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = _report().to_dict()
    jsonschema.validate(data, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert data["schema"] == "align-report/1" and data["schema_version"] == "1.1"
    t1 = data["policy_sets"][0]["tasks"][0]["assessable"]
    assert t1["verdict"] == "assessable" and t1["owners"] == ["人事处"]
    want = {"text": "30名以上", "value": 30, "unit": "名", "comparator": "以上", "chunk_id": "c1"}
    assert want.items() <= t1["targets"][0].items()
    assert t1["deadlines"] == [{"text": "2023年", "date": "2023", "kind": "date", "chunk_id": "c1"}]


def test_every_report_format_shows_the_verdict() -> None:
    from align.report import get_formatter

    r = [_report()]
    table = get_formatter("table", width=100).format(r)
    assert "可考核" in table and "✔ 是" in table and "◐ 部分" in table and "✘ 否" in table
    md = get_formatter("markdown").format(r)
    assert "| 可考核 |" in md and "✔ 可考核" in md and "目标 30名以上" in md
    html = get_formatter("html").format(r)
    assert 'class="as as-assessable"' in html and "责任 人事处" in html


# ----------------------------------------------------------------------------- check


def test_require_assessable_rule() -> None:
    cfg = AlignConfig(require_assessable=("t1", "t2"), fail_on=())
    res = evaluate([_report()], cfg)
    bad = [v for v in res.violations if v.rule == RULE_ASSESSABLE]
    assert [v.task_id for v in bad] == ["t2"] and res.failed
    assert "缺少时间节点" in bad[0].message_zh
    every = evaluate([_report()], AlignConfig(require_assessable=("all-covered",), fail_on=()))
    assert sorted(v.task_id for v in every.violations if v.rule == RULE_ASSESSABLE) == ["t2", "t3"]
    typo = evaluate(
        [_report()], AlignConfig(require_assessable=("t9",), fail_on=(), report_on=())
    )
    assert [v.rule for v in typo.violations] == [RULE_UNKNOWN_TASK]


def test_require_assessable_in_config_file(tmp_path: Path) -> None:
    f = tmp_path / "align.toml"
    f.write_text('require_assessable = ["tzpy-07", "all-covered"]\n', encoding="utf-8")
    assert parse_config(f, ci=False).require_assessable == ("tzpy-07", "all-covered")
    f.write_text("require_assessable = [1]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        parse_config(f, ci=False)
    assert "require_assessable" in str(e.value) and ":1:" in str(e.value)


# ----------------------------------------------------------------------------- CLI


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "align", *args], capture_output=True, text=True, cwd=REPO
    )


def test_targets_command_json_shape(tmp_path: Path) -> None:
    r = run_cli("targets", str(EXAMPLE), "-f", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) == {"document", "chunks"}
    assert data["document"]["year"] == 2023 and data["document"]["chunks"] == len(data["chunks"])
    text = EXAMPLE.read_text(encoding="utf-8")
    for c in data["chunks"]:
        assert set(c) >= {"chunk_id", "location", "text", "targets", "deadlines", "owners"}
        for item in c["targets"] + c["deadlines"]:
            assert text[item["start"] : item["end"]] == item["text"]
        assert c["owners"] == [o["name"] for o in c["owner_details"]]
    found = [(t["value"], t["unit"], t["from"]) for c in data["chunks"] for t in c["targets"]]
    assert (6, "个", 2) in found and (1500, "万元", None) in found
    assert any(d["date"] == "2021-06" for c in data["chunks"] for d in c["deadlines"])


def test_targets_command_table_and_bad_file(tmp_path: Path) -> None:
    plan = tmp_path / "plan.txt"
    plan.write_text("2024年工作计划\n一、师资\n3月启动，新增教师20名，人事处牵头。\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    r = run_cli("targets", str(plan), str(empty))
    assert r.returncode == 2
    assert "2024-03" in r.stdout and "20名" in r.stdout and "人事处" in r.stdout
    assert "规划年度：2024年" in r.stdout
    err = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(err) == 1 and "empty.txt" in err[0] and "Traceback" not in r.stderr


_ALPHABET = (
    "0123456789０１２３一二两三四五六七八九十百千万亿零〇第年月日季度底前届周余多以上下至到由增加提高"
    "个名家门项所%％:：-—～.、，。；\n “”《》〔〕()（）处部办室院局牵头负责配合责任部门：每学期半"
    "教务人事学院二级中心校党委政府应要是在的"
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_ALPHABET, max_size=120))
def test_extraction_never_fails_and_spans_point_into_the_text(text: str) -> None:
    """Any text: no exception, and every span is where the item says it is."""
    c = extract(text, PlanTime(year=2024, period=(2021, 2025)))
    for t in c.targets:
        assert 0 <= t.start < t.end <= len(text) and t.text == text[t.start : t.end].strip()
    for d in c.deadlines:
        assert text[d.start : d.end] == d.text
    for o in c.owners:
        assert text[o.start : o.end].replace("\n", "") == o.name


def test_owner_roles() -> None:
    got = extract("建设产业学院 | 校企合作办公室（牵头）、各二级学院（配合）").owners
    assert [(o.name, o.role) for o in got] == [("校企合作办公室", "牵头"), ("各二级学院", "配合")]
    got = extract("责任单位：人事处（牵头）、各二级学院").owners
    assert [(o.name, o.role) for o in got] == [("人事处", "牵头"), ("各二级学院", "责任")]


def test_owner_offsets_cover_a_wrapped_name() -> None:
    text = "由上海\n第二工业大学牵头"
    (o,) = extract(text).owners
    assert text[o.start : o.end] == "上海\n第二工业大学" and o.role == "牵头"


# ----------------------------------------------------------------------------- quality


def test_labelled_real_passages_meet_the_targets() -> None:
    """scripts/eval_targets.py on dev/assess/labels.jsonl (real text outside the repo)."""
    from align.evaluate_real import REALPLANS_DIR

    if not REALPLANS_DIR.is_dir():
        pytest.skip("shared/realplans not available")
    r = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "eval_targets.py"), "--json"],
        capture_output=True, text=True, cwd=REPO,
    )
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)["all"]
    assert m["passages"] >= 150 and m["empty"] >= m["passages"] // 2
    for kind in ("targets", "deadlines"):
        assert m[kind]["precision"] >= 0.95 and m[kind]["recall"] >= 0.90, (kind, m[kind])


def test_extraction_is_cached_by_text_and_rules(tmp_path: Path) -> None:
    """A warm re-score reads each passage's commitments from the cache (no jieba, no cn2an)."""
    from align.assess import _cache_key, extract_chunks, extractor_id
    from align.embed.cache import EmbeddingCache

    store = EmbeddingCache(tmp_path / "cache")
    plan = PlanTime(year=2024)
    chunks = list(CHUNKS.values())
    first = extract_chunks(chunks, plan, store)
    kind = f"assess/{extractor_id()}"
    keys = [_cache_key(c.text, plan) for c in chunks]
    assert store.known_blobs(kind, keys) == set(keys)
    # a damaged entry is read again, not trusted
    store.put_blobs(kind, {keys[0]: b"not json"})
    again = extract_chunks(chunks, plan, store)
    assert again == first
    assert again["c1"].targets[0].chunk_id == "c1"
    # another plan year is another key: 3月 means another month
    assert _cache_key("3月", PlanTime(year=2023)) != _cache_key("3月", plan)
    store.close()


def test_check_cli_fails_on_a_vague_required_task(tmp_path: Path) -> None:
    """`align check` with require_assessable, end to end (lexical model, real example plan)."""
    (tmp_path / "align.toml").write_text(
        'model = "lexical"\nfail_on = []\nreport_on = []\nrequire_assessable = ["all-covered"]\n',
        encoding="utf-8",
    )
    plan = tmp_path / "plan.txt"
    plan.write_text(
        "某职业技术学院2024年工作要点\n一、深化产教融合、校企合作\n"
        "深化产教融合，推进校企合作，共建产业学院和实训基地，推行现代学徒制和订单培养，"
        "进一步加强校企协同育人，不断提升服务产业能力。\n"
        # "covered" needs two supporting passages: one stray paragraph is only "partial"
        "深化校企合作办学，与区域龙头企业合作开设订单班，推行现代学徒制，"
        "企业技术骨干参与制定人才培养方案、共同开发课程、指导学生实习实训。\n",
        encoding="utf-8",
    )
    r = subprocess.run(
        [sys.executable, "-m", "align", "check", str(plan), "--format", "sarif"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert r.returncode == 1, r.stderr
    sarif = json.loads(r.stdout)
    rules = {x["properties"]["alignRule"] for x in sarif["runs"][0]["results"]}
    assert rules == {"assessable"}
    plan.write_text(
        plan.read_text(encoding="utf-8").replace(
            "共建产业学院", "2024年底前与企业共建产业学院6个"
        ),
        encoding="utf-8",
    )
    ok = subprocess.run(
        [sys.executable, "-m", "align", "check", str(plan)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_targets_command_reads_a_task_table_in_docx(tmp_path: Path) -> None:
    """工作任务 / 时间节点 / 考核要点 / 责任部门: the shape of real task-decomposition plans."""
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_paragraph("某职业技术学院2024年提质培优任务分解表")
    table = d.add_table(rows=3, cols=4)
    rows = [
        ("工作任务", "时间节点", "考核要点", "责任部门"),
        ("完善双师型教师认定办法", "3月启动、12月底前验收", "新增双师型教师30名以上", "人事处（牵头）、各二级学院"),
        ("共建产业学院", "第三季度", "由2个增加到6个", "校企合作办公室"),
    ]
    for r, values in zip(table.rows, rows, strict=True):
        for cell, v in zip(r.cells, values, strict=True):
            cell.text = v
    path = tmp_path / "plan.docx"
    d.save(str(path))
    r = run_cli("targets", str(path), "-f", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["document"]["year"] == 2024
    owners = [o for c in data["chunks"] for o in c["owner_details"]]
    assert [(o["name"], o["role"]) for o in owners] == [
        ("人事处", "牵头"), ("各二级学院", ""), ("校企合作办公室", ""),
    ]
    dates = [d["date"] for c in data["chunks"] for d in c["deadlines"]]
    assert dates == ["2024", "2024-03", "2024-12", "2024-07/2024-09"]
    found = [(t["value"], t["unit"], t["from"]) for c in data["chunks"] for t in c["targets"]]
    assert found == [(30, "名", None), (6, "个", 2)]
