"""The HTML report: one offline page that reads without colour and never lets plan text become markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from builders import report as build_report

from align.report import get_formatter
from align.report.html import HtmlFormatter, highlight
from align.types import (
    Chunk,
    Evidence,
    Location,
    Report,
    SetResult,
    SubMeasureResult,
    TaskResult,
    Threshold,
)


def make_report(path: str = "规划.docx", *, evil: bool = False) -> Report:
    """A small but complete report: three tasks (one per status), two plan sections, a matrix."""
    loc1 = Location(0, 40, heading="一、总体目标 > （一）指导思想", paragraph=2)
    loc2 = Location(41, 90, page=3, heading="二、主要任务 > （三）产教融合", line=12)
    chunks = (
        Chunk("c0001", "坚持立德树人，深化产教融合。", loc1, ("一、总体目标", "（一）指导思想")),
        Chunk("c0002", "建设市域产教联合体和行业产教融合共同体。", loc2, ("二、主要任务", "（三）产教融合")),
        Chunk("c0003", "前言文字。", Location(91, 96, line=1), ()),
    )
    evil_text = '<script>alert("x")</script> & 产教融合' if evil else "建设市域产教联合体和行业产教融合共同体。"
    e1 = Evidence("c0002", evil_text, 83.0, loc2, ("产教融合", "产教联合体"))
    e2 = Evidence("c0001", "坚持立德树人，深化产教融合。", 52.0, loc1, ("产教融合",))
    th = Threshold(covered=70.0, partial=50.0)
    tasks = (
        TaskResult(
            "T1",
            "打造市域产教联合体" + ("<b>粗</b>" if evil else ""),
            83.0,
            "covered",
            (e1,),
            sub_measures=(
                SubMeasureResult("T1.1", "成立联合体理事会", 80.0, True, (e1,)),
                SubMeasureResult("T1.2", "建设实体化运作平台", 31.0, False),
            ),
            threshold=th,
            reason="有明确的证据段落。",
        ),
        TaskResult("T2", "深化产教融合", 55.0, "partial", (e2,), threshold=th, reason="仅有相关表述。"),
        TaskResult("T3", "提升数字化水平", 12.0, "missing", (), threshold=th, reason="未找到相关内容。"),
    )
    return build_report(
        [SetResult("vet-2022", "职业教育改革意见", tasks)],
        path=path, sha256="ab" * 32, chars=96, chunks=chunks, fmt="docx", kind="lexical",
        matrix=((40.0, 83.0, 10.0), (52.0, 50.0, 0.0), (10.0, 12.0, 5.0)),  # confidences, 0-100
        align_version="0.1.0",
    )


class _Collector(HTMLParser):
    """Collects tags/attributes and checks the document parses into balanced, known elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Collector:
    c = _Collector()
    c.feed(html)
    c.close()
    return c


def test_registry_returns_html_formatter():
    assert isinstance(get_formatter("html"), HtmlFormatter)


def test_page_is_self_contained_and_chinese():
    html = HtmlFormatter().format([make_report()])
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in html
    assert '<meta charset="utf-8">' in html
    tags = parse(html).tags
    for tag, attrs in tags:
        for key in ("src", "href", "action", "poster", "data"):
            v = attrs.get(key) or ""
            assert not re.match(r"\s*(https?:)?//", v), (tag, key, v)
        assert tag not in {"link", "img", "iframe", "object", "embed"}, tag
    # no external resources hiding in CSS either
    assert "url(" not in html
    assert "@import" not in html
    assert "Noto Sans CJK SC" in html and "Microsoft YaHei" in html and "PingFang SC" in html
    assert "@page{size:A4" in html and "@media print" in html


def test_statuses_read_without_colour():
    html = HtmlFormatter().format([make_report()])
    text = "".join(parse(html).text)
    assert "✔ 已覆盖" in text
    assert "◐ 部分覆盖" in text
    assert "✘ 未覆盖" in text
    statuses = [a.get("data-status") for t, a in parse(html).tags if t == "details"]
    assert statuses == ["covered", "partial", "missing"]


def test_summary_counts_per_set():
    html = HtmlFormatter().format([make_report()])
    m = re.search(r'<table class="summary">.*?</table>', html, re.S)
    assert m
    row = re.search(r"<tr><td>.*?</tr>", m.group(0), re.S).group(0)
    assert "职业教育改革意见" in row
    assert re.findall(r'<td class="n">(\d+)</td>', row) == ["1", "1", "1", "3"]


def test_evidence_has_location_and_marks_terms():
    html = HtmlFormatter().format([make_report()])
    assert "第3页 · （三）产教融合 · 第12行" in html
    assert "（一）指导思想 · 第3段" in html
    assert "<mark>产教联合体</mark>" in html
    assert "<mark>产教融合</mark>" in html


def test_sub_measures_without_evidence_are_listed():
    html = HtmlFormatter().format([make_report()])
    t1 = re.search(r'<details class="task" id="task-T1".*?</details>', html, re.S).group(0)
    assert "无证据的子措施" in t1
    without = t1.split("无证据的子措施")[1]
    assert "建设实体化运作平台" in without
    assert "成立联合体理事会" not in without


def test_heat_map_rows_tasks_columns_top_sections_best_score():
    html = HtmlFormatter().format([make_report()])
    heat = re.search(r'<table class="heat">.*?</table>', html, re.S).group(0)
    cols = re.findall(r'<th scope="col" title="([^"]*)"', heat)
    assert cols == ["一、总体目标", "二、主要任务", "（无标题部分）"]
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", heat, re.S)
    assert len(rows) == 3
    values = [re.findall(r">(\d+)</td>", r) for r in rows]
    assert values == [["40", "83", "10"], ["52", "50", "0"], ["10", "12", "5"]]
    # the best section of a task that reaches its threshold is framed; a missing task's is not
    assert 'class="top"' in rows[0] and 'class="top"' in rows[1]
    assert 'class="top"' not in rows[2]


def test_heat_map_takes_max_within_a_section():
    r = make_report()
    from dataclasses import replace

    chunks = tuple(replace(c, heading_path=("唯一章节",)) for c in r.chunks)
    html = HtmlFormatter().format([replace(r, chunks=chunks)])
    heat = re.search(r'<table class="heat">.*?</table>', html, re.S).group(0)
    assert re.findall(r">(\d+)</td>", heat) == ["83", "52", "12"]


def test_missing_or_mismatched_matrix_degrades_to_a_note():
    from dataclasses import replace

    for r in (replace(make_report(), matrix=()), replace(make_report(), matrix=((1.0,),) * 3)):
        html = HtmlFormatter().format([r])
        assert '<table class="heat">' not in html
        assert "无法绘制热力图" in html
        assert "✔ 已覆盖" in html


def test_plan_text_is_escaped_everywhere():
    html = HtmlFormatter().format([make_report('a"<b>.docx', evil=True)])
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; <mark>产教融合</mark>" in html
    assert "<b>粗</b>" not in html and "&lt;b&gt;粗&lt;/b&gt;" in html
    assert 'a"<b>' not in html
    # the only script is our own print helper
    assert html.count("<script>") == 1


def test_highlight_prefers_longer_terms_and_escapes():
    assert highlight("职业教育<好>", ["教育", "职业教育"]) == "<mark>职业教育</mark>&lt;好&gt;"
    assert highlight("a<b", ["<"]) == "a<mark>&lt;</mark>b"
    assert highlight("无匹配", []) == "无匹配"
    assert highlight("x", [""]) == "x"


def test_several_reports_one_page_with_a_section_each():
    html = HtmlFormatter().format([make_report("甲.docx"), make_report("乙.pdf")])
    assert html.count('<section class="doc"') == 2
    assert 'href="#doc-1"' in html and 'href="#doc-2"' in html
    assert "甲.docx" in html and "乙.pdf" in html
    assert "2 份文件" in html


@pytest.mark.parametrize("back", [None, "/"])
def test_back_link_only_when_asked(back):
    html = HtmlFormatter(back_href=back).format([make_report()])
    assert ('class="back"' in html) == (back is not None)


def test_cli_writes_one_self_contained_file(tmp_path):
    """`align score --format html --output report.html` on the example plan (lexical model)."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "report.html"
    proc = subprocess.run(
        [sys.executable, "-m", "align", "score", str(repo / "examples" / "plan.txt"),
         "--model", "lexical", "--format", "html", "--output", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert proc.stdout == ""
    assert "政策对标报告 · plan.txt" in html
    assert '<table class="heat">' in html
    assert html.count('<details class="task"') >= 10
    assert "url(" not in html
    for tag, attrs in parse(html).tags:
        for key in ("src", "href"):
            assert not re.match(r"\s*(https?:)?//", attrs.get(key) or ""), (tag, attrs)
