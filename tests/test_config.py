"""`[tool.align]` / `align.toml`: discovery, validation with file:line errors, CI overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from align.config import AlignConfig, find_config, load_config, with_overrides
from align.errors import ConfigError

FULL = """\
sets = ["tzpy", "sc-2021"]
policies = ["policies/extra.toml"]
model = "lexical"
min_covered_share = { tzpy = 0.8, default = 0.5 }
required = ["tzpy-03", "tzpy-07"]
fail_on = ["missing", "partial"]
report_on = []
regression_margin = 0.1
baseline = "ci/align-baseline.json"
annotation_cap = 5
"""


def write(p: Path, text: str) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_when_nothing_is_found(tmp_path):
    cfg = load_config(start=tmp_path, ci=False)
    assert cfg == AlignConfig()
    assert cfg.fail_on == ("missing",) and cfg.report_on == ("partial",)
    assert cfg.annotation_cap == 10 and cfg.source is None


def test_align_toml_all_keys(tmp_path):
    f = write(tmp_path / "align.toml", FULL)
    cfg = load_config(start=tmp_path, ci=False)
    assert cfg.source == f
    assert cfg.sets == ("tzpy", "sc-2021")
    assert cfg.policies == (tmp_path / "policies" / "extra.toml",)  # relative to the config file
    assert cfg.model == "lexical"
    assert cfg.min_share_for("tzpy") == 0.8 and cfg.min_share_for("other") == 0.5
    assert cfg.required == ("tzpy-03", "tzpy-07")
    assert cfg.fail_on == ("missing", "partial") and cfg.report_on == ()
    assert cfg.regression_margin == 0.1
    assert cfg.baseline == tmp_path / "ci" / "align-baseline.json"
    assert cfg.annotation_cap == 5


def test_pyproject_tool_align_found_upward(tmp_path):
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n\n[tool.align]\nmin_covered_share = 0.6\n')
    deep = tmp_path / "plans" / "2025"
    deep.mkdir(parents=True)
    cfg = load_config(start=deep, ci=False)
    assert cfg.source == tmp_path / "pyproject.toml"
    assert cfg.min_share_for("anything") == 0.6


def test_align_toml_wins_over_pyproject_in_same_dir_and_nearest_wins(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.align]\nannotation_cap = 3\n")
    write(tmp_path / "align.toml", "annotation_cap = 4\n")
    assert load_config(start=tmp_path, ci=False).annotation_cap == 4
    write(tmp_path / "sub" / "pyproject.toml", "[tool.align]\nannotation_cap = 7\n")
    assert load_config(start=tmp_path / "sub", ci=False).annotation_cap == 7


def test_pyproject_without_tool_align_is_skipped(tmp_path):
    write(tmp_path / "align.toml", "annotation_cap = 4\n")
    write(tmp_path / "sub" / "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n')
    assert find_config(tmp_path / "sub") == tmp_path / "align.toml"


def test_explicit_config_overrides_search(tmp_path):
    write(tmp_path / "align.toml", "annotation_cap = 4\n")
    other = write(tmp_path / "elsewhere" / "strict.toml", 'fail_on = ["partial", "missing"]\nreport_on = []\n')
    cfg = load_config(other, start=tmp_path, ci=False)
    assert cfg.fail_on == ("partial", "missing") and cfg.source == other
    with pytest.raises(ConfigError, match="不存在"):
        load_config(tmp_path / "nope.toml")
    py = write(tmp_path / "p" / "pyproject.toml", "[project]\nname='x'\n")
    with pytest.raises(ConfigError, match=r"tool\.align"):
        load_config(py)


@pytest.mark.parametrize(
    "body, line, fragment",
    [
        ("annotation_cap = 4\nfial_on = ['missing']\n", 2, "未知的配置项 'fial_on'"),
        ("fail_on = ['absent']\n", 1, "未知状态 'absent'"),
        ("fail_on = 'missing'\nreport_on = 3\n", 2, "report_on 应为字符串列表"),
        ("min_covered_share = 1.5\n", 1, "超出 0 到 1"),
        ("min_covered_share = '60%'\n", 1, "0 到 1 之间的数"),
        ("\nmin_covered_share = { tzpy = true }\n", 2, "min_covered_share.tzpy"),
        ("annotation_cap = 0\n", 1, "annotation_cap 应为正整数"),
        ("annotation_cap = true\n", 1, "annotation_cap"),
        ("regression_margin = -0.1\n", 1, "regression_margin 应为非负数"),
        ("model = 3\n", 1, "model 应为非空字符串"),
        ("fail_on = ['missing']\nreport_on = ['missing']\n", 2, "同时出现"),
        ("required = [1, 2]\n", 1, "required 应为字符串列表"),
        ("annotation_cap = 4\nbroken = = 1\n", 2, "有效的 TOML"),
    ],
)
def test_invalid_align_toml_names_file_and_line(tmp_path, body, line, fragment):
    f = write(tmp_path / "align.toml", body)
    with pytest.raises(ConfigError) as ei:
        load_config(start=tmp_path, ci=False)
    err = ei.value
    assert fragment in err.message
    assert err.path == str(f) and err.line == line
    assert str(err).startswith(f"{f}:{line}: ")
    assert "\n" not in str(err) and err.exit_code == 2


def test_invalid_key_in_pyproject_points_into_tool_align(tmp_path):
    f = write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\nfail_on = 1\n\n[tool.align]\nsets = ["tzpy"]\nfail_on = "nope"\n',
    )
    with pytest.raises(ConfigError) as ei:
        load_config(start=tmp_path, ci=False)
    assert ei.value.line == 7 and ei.value.path == str(f)  # not the [project] line 3


def test_single_string_is_accepted_for_status_lists(tmp_path):
    write(tmp_path / "align.toml", 'fail_on = "partial"\nreport_on = "missing"\n')
    cfg = load_config(start=tmp_path, ci=False)
    assert cfg.fail_on == ("partial",) and cfg.report_on == ("missing",)


def test_ci_table_is_stricter_only_in_ci(tmp_path, monkeypatch):
    write(
        tmp_path / "align.toml",
        'fail_on = []\nreport_on = ["missing", "partial"]\n\n[ci]\nfail_on = ["missing"]\nrequired = ["t1"]\n',
    )
    local = load_config(start=tmp_path, ci=False)
    assert local.fail_on == () and local.required == ()
    ci = load_config(start=tmp_path, ci=True)
    assert ci.fail_on == ("missing",) and ci.required == ("t1",)
    assert ci.report_on == ("partial",)  # missing now fails, so it is no longer only reported
    monkeypatch.setenv("CI", "true")
    assert load_config(start=tmp_path).fail_on == ("missing",)
    monkeypatch.setenv("CI", "false")
    assert load_config(start=tmp_path).fail_on == ()


def test_ci_table_is_validated_even_outside_ci(tmp_path):
    f = write(tmp_path / "align.toml", "fail_on = []\n[ci]\nfail_on = ['bad']\n")
    with pytest.raises(ConfigError) as ei:
        load_config(start=tmp_path, ci=False)
    assert ei.value.line == 3 and ei.value.path == str(f)


def test_with_overrides_ignores_none():
    cfg = AlignConfig(model="e5-small", sets=("a",))
    out = with_overrides(cfg, model=None, sets=("b",), unknown=1)
    assert out.model == "e5-small" and out.sets == ("b",)


def test_toml_lines_finds_keys_below_their_table():
    """The one locator config and policy errors share (align.toml_lines)."""
    from align.toml_lines import TomlLines

    text = (
        "fail_on = []\n"                   # 1
        '[tool."align"]  # quoted part\n'  # 2
        "'report_on' = []\n"               # 3
        "[[tool.other.items]]\n"           # 4
        "model = 1\n"                      # 5: another tool's array, not [tool.align]
        '["tool.align"]\n'                 # 6: one key with a dot, not [tool.align]
        "sets = []\n"                      # 7
        'id = "my-01"\n'                   # 8
    )
    lines = TomlLines(text)
    assert lines.line_of(None, "fail_on") == 1 and lines.line_of(None, "report_on") is None
    assert lines.line_of("tool.align", None) == 2
    assert lines.line_of("tool.align", "report_on") == 3
    assert lines.line_of("tool.align", "model") is None
    assert lines.line_of("tool.align", "sets") is None
    assert lines.line_of('"tool.align"', "sets") == 7
    assert lines.line_of_id("my-01") == 8
