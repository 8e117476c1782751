"""Issue 14, rows 10-11: what the reports write must be what the schema says, and plan text
must stay text (no HTML in Markdown, no escape sequences on the terminal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from align.cli import app

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "src" / "align" / "schemas" / "align-report-1.json"
PLAN = "一、总体要求\n坚持立德树人，深化产教融合，推行现代学徒制和订单培养。\n"
XSS = "<img src=x onerror=alert(1)>"


def invoke(*args: str | Path):
    result = CliRunner().invoke(app, [*map(str, args)])
    assert result.exit_code == 0, (result.exit_code, result.stderr, result.exception)
    return result


# --------------------------------------------------------------------------- row 10


def test_json_for_several_plans_validates_against_the_shipped_schema(tmp_path, cache_dir):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(PLAN, encoding="utf-8")
    several = json.loads(
        invoke("score", tmp_path / "a.txt", tmp_path / "b.txt", "-m", "lexical", "-f", "json").stdout
    )
    assert isinstance(several, list) and len(several) == 2
    jsonschema.validate(several, schema)
    one = json.loads(invoke("score", tmp_path / "a.txt", "-m", "lexical", "-f", "json").stdout)
    jsonschema.validate(one, schema)
    for line in invoke("score", tmp_path, "-m", "lexical", "-f", "jsonl").stdout.splitlines():
        jsonschema.validate(json.loads(line), schema)
    # and it still rejects what is not a report
    for bad in ([one], [one, {"schema": "align-report/1"}], [[one, one], one], {"document": {}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


# --------------------------------------------------------------------------- row 11


def test_markdown_shows_plan_html_as_text(tmp_path, cache_dir):
    markdown_it = pytest.importorskip("markdown_it")
    plan = tmp_path / "p.txt"
    plan.write_text(PLAN.replace("深化产教融合", f"深化产教融合{XSS}[点我](javascript:alert(1))"), "utf-8")
    md = invoke("score", plan, "-m", "lexical", "-f", "markdown").stdout
    assert XSS not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(md)
    assert "<img" not in html and "<a " not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the reader still sees what was written


def test_md_helpers_keep_text_and_break_markup():
    from align.report._common import md_code, md_inline

    assert md_inline("深化产教融合 | 第2行") == "深化产教融合 \\| 第2行"
    assert md_inline("a\nb\x1b[31m") == "a b␛\\[31m"
    assert md_code("plan`x`.txt") == "``plan`x`.txt``"


ESCAPES = "坚持立德树人\x1b[2J\x1b]0;owned\x07，深化产教融合。"
# a stray control character or two in real text is read (more would be taken for binary data)
FILLER = "\n二、主要任务\n" + "完善职业教育体系，提升人才培养质量，服务区域经济社会发展。" * 12 + "\n"


def test_chunks_show_control_characters_visibly(tmp_path):
    plan = tmp_path / "esc.txt"
    plan.write_text(f"一、总体要求\n{ESCAPES}\n{FILLER}", encoding="utf-8")
    for extra in ([], ["--full"]):
        out = invoke("chunks", plan, *extra).stdout
        assert "\x1b" not in out and "\x07" not in out
        assert "␛[2J" in out and "␇" in out


def test_score_table_and_explain_show_control_characters_visibly(tmp_path, cache_dir):
    plan = tmp_path / "esc.txt"
    plan.write_text(f"一、总体要求\n{ESCAPES}推行现代学徒制和订单培养。\n{FILLER}", "utf-8")
    for args in (["score", plan], ["explain", plan, "tzpy-04"]):
        out = invoke(*args, "-m", "lexical").stdout
        assert "\x1b" not in out and "␛" in out, args


def test_terminal_text_written_as_a_string_shows_control_characters(capsys):
    """`check -f text`, `diff` and the rest build terminal text as strings: the same rule."""
    from align.cli._common import write_output

    write_output("finding: “坚持\x1b[31m立德树人”\n", None, terminal=True)
    write_output('{"text": "\\u001b"}', None)  # machine formats are left exactly as they are
    out = capsys.readouterr().out
    assert out == 'finding: “坚持␛[31m立德树人”\n{"text": "\\u001b"}\n'
