"""Reference policy sets, their loader/validator and `align policies`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from align.cli import app
from align.errors import PolicyError
from align.policies import (
    ENV_VAR,
    builtin_policy_dir,
    load_policies,
    load_policy_file,
    policies_to_dict,
    select_sets,
)

EXPECTED = {
    "tzpy-2020": [f"tzpy-{i:02d}" for i in range(1, 11)],
    "sichuan-2020": [f"sc-{i:02d}" for i in range(1, 7)],
    "fyp14-ch43": [f"fyp43-{i}" for i in range(1, 6)],
}

VALID = """\
[set]
id = "my-plan"
title = "我的政策"
document = "某某文件"
issuer = "某局"
date = 2021-05-01

[[tasks]]
id = "my-01"
title = "建设智慧校园"
description = "建设智慧校园，完善校园网络。"
terms = ["智慧校园", "校园网"]
threshold = { covered = 0.8, partial = 0.6 }

[[tasks.sub_measures]]
id = "my-01-1"
title = "升级校园网"
official = false
"""


def run(*args: str):
    return CliRunner().invoke(app, ["policies", *args])


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- built-in data


def test_builtin_sets_load_in_order():
    sets = load_policies()
    assert [s.id for s in sets] == list(EXPECTED)
    for s in sets:
        assert [t.id for t in s.tasks] == EXPECTED[s.id]
        assert s.title and s.document and s.issuer and s.date and s.source
        assert Path(s.path).parent == builtin_policy_dir()
    assert sets[0].number == "教职成〔2020〕7号"


def test_official_titles_are_the_documents_wording():
    tasks = {t.id: t for s in load_policies() for t in s.tasks}
    assert tasks["tzpy-01"].title == "落实立德树人根本任务"
    assert tasks["tzpy-04"].title == "深化职业教育产教融合、校企合作"
    assert tasks["tzpy-07"].title == "实施职业教育“三教”改革攻坚行动"
    assert tasks["tzpy-10"].title == "实施职业教育创新发展高地建设行动"
    assert [tasks[f"sc-0{i}"].title for i in range(1, 7)] == [
        "完善现代职业教育体系",
        "推进职业教育高质量发展",
        "提高技术技能人才培养质量",
        "深化产教融合校企合作",
        "建设高水平教师队伍",
        "提升服务能力和开放水平",
    ]
    assert tasks["fyp43-2"].title == "增强职业技术教育适应性"
    assert "中国特色学徒制" in tasks["fyp43-2"].official_text


def test_every_task_has_matching_text():
    for s in load_policies():
        for t in s.tasks:
            assert t.set_id == s.id
            assert t.title.strip() and len(t.description) >= 40, t.id
            assert 10 <= len(t.terms) <= 25, (t.id, len(t.terms))
            assert 5 <= len(t.aliases) <= 10, t.id
            assert t.sub_measures, t.id
            assert t.threshold is None, "shipped files must not override thresholds"
            for m in t.sub_measures:
                assert m.id.startswith(t.id + "-") and m.title and m.terms, m.id
            # official text (when present) is punctuated the Chinese way, not mis-encoded ASCII
            assert not re.search(r"[,;:]", t.official_text), t.id


def test_three_jiao_sub_measures_are_official():
    t = next(t for s in load_policies() for t in s.tasks if t.id == "tzpy-07")
    assert [(m.id, m.title, m.official) for m in t.sub_measures] == [
        ("tzpy-07-1", "提升教师“双师”素质", True),
        ("tzpy-07-2", "加强职业教育教材建设", True),
        ("tzpy-07-3", "提升职业教育专业和课程教学质量", True),
    ]
    assert "5年一轮的教师全员培训制度" in t.official_text


def test_fyp_quantitative_targets():
    tasks = {t.id: t for s in load_policies() for t in s.tasks}
    subs1 = " ".join(m.title for m in tasks["fyp43-1"].sub_measures)
    assert "高中阶段教育毛入学率提高到92%以上" in subs1
    assert "学前教育毛入园率提高到90%以上" in subs1
    assert any("60%" in m.title for m in tasks["fyp43-3"].sub_measures)
    # every official sub-measure title of the 十四五 set is verbatim text of its section
    for tid in EXPECTED["fyp14-ch43"]:
        for m in tasks[tid].sub_measures:
            assert m.official and m.title in tasks[tid].official_text, m.id


def test_basic_education_is_kept_apart_from_vocational_text():
    tasks = {t.id: t for s in load_policies() for t in s.tasks}
    own = " ".join((tasks["fyp43-1"].description, *tasks["fyp43-1"].terms))
    for word in ("产教融合", "校企合作", "职业院校", "学徒制"):
        assert word not in own
    assert "产教融合" in tasks["fyp43-1"].negative_terms
    assert "高职" in tasks["fyp43-3"].negative_terms
    assert {t.id for s in load_policies() for t in s.tasks if t.broad} >= {"tzpy-01", "tzpy-06"}


def test_policies_to_dict_keeps_everything():
    d = policies_to_dict(load_policies())
    assert d["schema"] == "align-policies/1"
    assert "official_text" in d["text_origin"]["official"]
    assert "description" in d["text_origin"]["ours"]
    t = d["policy_sets"][0]["tasks"][6]
    assert t["id"] == "tzpy-07" and t["sub_measures"][0]["official"] is True
    assert set(t) >= {"title", "official_text", "description", "aliases", "terms", "broad"}


def test_env_var_overrides_builtin_dir(tmp_path, monkeypatch):
    write(tmp_path, "a.toml", VALID)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert builtin_policy_dir() == tmp_path
    assert [s.id for s in load_policies()] == ["my-plan"]


# --------------------------------------------------------------------------- CLI


def test_cli_json_lists_the_21_tasks_in_order():
    r = run("--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert [s["id"] for s in d["policy_sets"]] == list(EXPECTED)
    ids = [t["id"] for s in d["policy_sets"] for t in s["tasks"]]
    assert ids == [i for v in EXPECTED.values() for i in v] and len(ids) == 21
    for s in d["policy_sets"]:
        for t in s["tasks"]:
            assert t["title"] and t["description"] and t["terms"]


def test_cli_table_is_readable(tmp_path):
    out = tmp_path / "t.txt"
    r = run("--set", "tzpy-2020", "-o", str(out))
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert "教职成〔2020〕7号" in text and "tzpy-10" in text and "sc-01" not in text
    assert "实施职业教育“三教”改革攻坚行动" in text
    assert max(cell_len(line) for line in text.splitlines()) <= 100  # CJK counts double


def test_cli_adds_a_valid_user_file(tmp_path):
    p = write(tmp_path, "mine.toml", VALID)
    r = run("--policy", str(p), "--format", "json")
    assert r.exit_code == 0, r.output
    sets = json.loads(r.stdout)["policy_sets"]
    assert [s["id"] for s in sets] == [*EXPECTED, "my-plan"]
    mine = sets[-1]
    assert mine["date"] == "2021-05-01" and mine["number"] == ""
    assert mine["tasks"][0]["threshold"] == {"covered": 0.8, "partial": 0.6}
    assert mine["tasks"][0]["sub_measures"][0]["official"] is False
    # a directory loads every *.toml inside it
    write(tmp_path, "other.toml", VALID.replace("my-", "b-"))
    r = run("-p", str(tmp_path), "-f", "json")
    assert [s["id"] for s in json.loads(r.stdout)["policy_sets"]][-2:] == ["my-plan", "b-plan"]


BAD = {
    # name: (file text, expected line, words the message must contain)
    "malformed": ('[set]\nid = "x"\ntitle = \n', 3, "TOML 语法错误"),
    "missing": (
        VALID.replace('description = "建设智慧校园，完善校园网络。"\n', ""),
        8,
        '"description"',
    ),
    "dup_task": (
        VALID + '\n[[tasks]]\nid = "my-01"\ntitle = "再来"\ndescription = "重复"\n',
        21,
        "重复",
    ),
    "unknown": (VALID.replace("terms =", "term ="), 12, '"term"'),
    "wrong_type": (
        VALID.replace('terms = ["智慧校园", "校园网"]', 'terms = "智慧校园"'),
        12,
        "字符串数组",
    ),
    "bad_id": (VALID.replace('id = "my-01"', 'id = "my 01"'), 9, "id"),
    "bad_threshold": (VALID.replace("covered = 0.8", "covered = 0.5"), 13, "partial"),
    "threshold_not_a_confidence": (VALID.replace("covered = 0.8", "covered = 120"), 13, "0-100"),
    "no_tasks": (VALID.split("[[tasks]]")[0], 1, "没有任务"),
    "empty": ("  \n", None, "文件为空"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_cli_rejects_bad_files(tmp_path, name):
    text, line, words = BAD[name]
    p = write(tmp_path, f"{name}.toml", text)
    r = run("--policy", str(p))
    assert r.exit_code == 2
    assert r.stdout == ""
    err = r.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    where = f"{p}:{line}: " if line else f"{p}: "
    assert err.startswith(f"错误 error: {where}"), err
    assert words in err and re.search(r"\([A-Za-z][^()]*\)$", err), err


def test_duplicate_set_id_across_files_names_both(tmp_path):
    p = write(tmp_path, "again.toml", VALID.replace('id = "my-plan"', 'id = "tzpy-2020"'))
    r = run("--policy", str(p))
    assert r.exit_code == 2
    assert f"{p}:2: " in r.stderr and "01-tzpy-2020.toml" in r.stderr and "重复" in r.stderr


def test_duplicate_task_id_across_files_names_both(tmp_path):
    a = write(tmp_path, "a.toml", VALID)
    b = write(tmp_path, "b.toml", VALID.replace('id = "my-plan"', 'id = "other"'))
    with pytest.raises(PolicyError) as ei:
        load_policies([a, b], include_builtin=False)
    e = ei.value
    assert e.path == str(b) and e.line == 9 and str(a) in e.message


def test_builtin_dir_named_again_is_loaded_once():
    r = run("-p", str(builtin_policy_dir()), "-f", "json")
    assert r.exit_code == 0, r.output
    assert [s["id"] for s in json.loads(r.stdout)["policy_sets"]] == list(EXPECTED)


def test_missing_path_and_unknown_set(tmp_path):
    r = run("--policy", str(tmp_path / "nope.toml"))
    assert r.exit_code == 2 and "nope.toml" in r.stderr
    r = run("--set", "no-such-set")
    assert r.exit_code == 2 and "tzpy-2020" in r.stderr  # lists the known ids
    with pytest.raises(PolicyError):
        select_sets(load_policies(), ["tzpy-2020", "x"])
    assert [s.id for s in select_sets(load_policies(), ["fyp14-ch43"])] == ["fyp14-ch43"]


def test_load_policy_file_accepts_bom_and_rejects_non_utf8(tmp_path):
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    assert load_policy_file(p).tasks[0].terms == ("智慧校园", "校园网")
    g = tmp_path / "gbk.toml"
    g.write_bytes(VALID.encode("gbk"))
    with pytest.raises(PolicyError, match="UTF-8"):
        load_policy_file(g)
