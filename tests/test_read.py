"""Reading plans: every format and encoding decodes to exactly the expected text, and blocks
point at the characters they claim. Fixtures are generated here (python-docx, a tiny PDF writer,
encoded strings), so each test shows the bytes it reads."""

from __future__ import annotations

import codecs
import importlib.util
import io
import zipfile
from pathlib import Path

import pytest
from docx import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml

from align.errors import InputError
from align.read import (
    DEFAULT_MAX_BYTES,
    SUPPORTED_SUFFIXES,
    collect_inputs,
    read_bytes,
    read_document,
)
from align.types import Document

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "read"

_spec = importlib.util.spec_from_file_location("pdfgen", FIXTURES / "pdfgen.py")
assert _spec and _spec.loader
pdfgen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pdfgen)
make_pdf = pdfgen.make_pdf

PLAN = (
    "XX职业技术学院“十四五”发展规划\n"
    "\n"
    "一、总体要求\n"
    "（一）指导思想\n"
    "坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻党的教育方针。\n"
    "1. 深化产教融合\n"
    "与行业龙头企业共建产业学院，推行现代学徒制；“双师型”教师比例达到75%。\n"
    "（1）省级高水平专业群由1个增加到3个；\n"
)


def assert_blocks_point_into_text(doc: Document) -> None:
    assert doc.blocks, "a readable document has blocks"
    prev_end = 0
    for b in doc.blocks:
        assert doc.text[b.start : b.end] == b.text
        assert b.text == b.text.strip() and b.text
        assert b.start >= prev_end
        prev_end = b.end


# --------------------------------------------------------------------------- text encodings


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (PLAN.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + PLAN.encode("utf-8"), "utf-8"),
        (PLAN.encode("gb18030"), "gb18030"),
        (PLAN.encode("gbk"), "gb18030"),  # GBK is read as its superset
        (PLAN.encode("utf-16"), "utf-16"),  # with BOM, native order
        (codecs.BOM_UTF16_LE + PLAN.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + PLAN.encode("utf-16-be"), "utf-16"),
        (PLAN.encode("utf-32"), "utf-32"),
    ],
    ids=["utf8", "utf8-bom", "gb18030", "gbk", "utf16", "utf16le-bom", "utf16be-bom", "utf32"],
)
def test_txt_encodings_are_detected_and_decoded_exactly(tmp_path, raw, encoding):
    f = tmp_path / "plan.txt"
    f.write_bytes(raw)
    doc = read_document(f)
    assert doc.text == PLAN
    assert doc.encoding == encoding
    assert doc.format == "txt"
    assert doc.path == str(f)
    assert_blocks_point_into_text(doc)


def test_gbk_text_that_is_not_valid_utf8_goes_through_the_detector(tmp_path):
    raw = PLAN.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    f = tmp_path / "plan.txt"
    f.write_bytes(raw)
    assert read_document(f).text == PLAN


def test_whole_example_plan_round_trips_through_gbk(tmp_path):
    text = (REPO / "examples" / "plan.txt").read_text(encoding="utf-8")
    f = tmp_path / "plan.txt"
    f.write_bytes(text.replace("\n", "\r\n").encode("gbk"))
    doc = read_document(f)
    assert doc.text == text
    assert doc.encoding == "gb18030"


def test_line_ends_are_normalised_and_nothing_else_changes(tmp_path):
    raw = "第一行\r\n\u3000\u3000第二行，全角缩进保留。\r第三行  \n"
    f = tmp_path / "a.txt"
    f.write_text(raw, encoding="utf-8", newline="")
    doc = read_document(f)
    assert doc.text == "第一行\n\u3000\u3000第二行，全角缩进保留。\n第三行  \n"
    assert [(b.text, b.line) for b in doc.blocks] == [
        ("第一行", 1),
        ("第二行，全角缩进保留。", 2),
        ("第三行", 3),
    ]
    assert_blocks_point_into_text(doc)


def test_forced_encoding_overrides_detection(tmp_path):
    # Two GBK characters whose bytes also happen to be valid UTF-8: detection cannot know, the
    # user can.
    raw = "学校".encode("gbk")
    assert raw.decode("utf-8") == "ѧУ"
    f = tmp_path / "a.txt"
    f.write_bytes(raw)
    assert read_document(f).text == "ѧУ"
    doc = read_document(f, encoding="gbk")
    assert (doc.text, doc.encoding) == ("学校", "gbk")


def test_forced_encoding_that_yields_control_characters_says_so(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes("职业教育提质培优".encode())
    with pytest.raises(InputError, match=r"latin-1.*控制字符.*wrong encoding"):
        read_document(f, encoding="latin-1")


def test_forced_encoding_that_does_not_fit_is_an_input_error(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(PLAN.encode("gbk"))
    with pytest.raises(InputError, match=r"无法按 utf-8 解码.*cannot decode as utf-8"):
        read_document(f, encoding="utf-8")
    with pytest.raises(InputError, match=r"未知的编码“nope”.*unknown encoding"):
        read_document(f, encoding="nope")


def test_txt_blocks_have_lines_and_headings_from_numbering(tmp_path):
    f = tmp_path / "plan.txt"
    f.write_text(PLAN, encoding="utf-8")
    doc = read_document(f)
    got = [(b.text[:8], b.kind, b.level, b.line) for b in doc.blocks]
    assert got == [
        ("XX职业技术学院", "paragraph", None, 1),
        ("一、总体要求", "heading", 4, 3),
        ("（一）指导思想", "heading", 5, 4),
        ("坚持以习近平新时", "paragraph", None, 5),
        ("1. 深化产教融", "heading", 6, 6),
        ("与行业龙头企业共", "paragraph", None, 7),
        ("（1）省级高水平", "paragraph", None, 8),  # a list item ending in ；, not a heading
    ]


def test_markdown_blocks(tmp_path):
    md = (
        "# 发展规划\n"
        "\n"
        "## 一、总体要求\n"
        "坚持立德树人，\n"
        "深化产教融合。\n"
        "\n"
        "- 列表一\n"
        "- 列表二\n"
        "  续行\n"
        "\n"
        "| 指标 | 目标 |\n"
        "|---|---|\n"
        "| 双师型 | 75% |\n"
        "\n"
        "```\n"
        "代码块\n"
        "\n"
        "```\n"
        "（二）基本原则\n"
    )
    f = tmp_path / "plan.md"
    f.write_text(md, encoding="utf-8")
    doc = read_document(f)
    assert doc.text == md and doc.format == "md"
    got = [(b.text, b.kind, b.level, b.line) for b in doc.blocks]
    assert got == [
        ("# 发展规划", "heading", 1, 1),
        ("## 一、总体要求", "heading", 2, 3),  # markup gives the level
        ("坚持立德树人，\n深化产教融合。", "paragraph", None, 4),
        ("- 列表一", "paragraph", None, 7),
        ("- 列表二\n  续行", "paragraph", None, 8),
        ("| 指标 | 目标 |", "table", None, 11),
        ("|---|---|", "table", None, 12),
        ("| 双师型 | 75% |", "table", None, 13),
        ("```\n代码块\n\n```", "paragraph", None, 15),
        ("（二）基本原则", "heading", 5, 19),
    ]
    assert_blocks_point_into_text(doc)


# --------------------------------------------------------------------------- docx


def _docx_bytes(doc) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def build_docx() -> bytes:
    d = DocxDocument()
    d.add_paragraph("XX学院发展规划", style="Title")
    d.add_paragraph("目录", style="TOC Heading")
    toc = d.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    d.add_paragraph("一、总体要求\t1", style=toc)
    d.add_heading("一、总体要求", level=1)
    d.add_paragraph("（一）指导思想")  # no style: a heading by its numbering
    d.add_paragraph("坚持立德树人，全面贯彻党的教育方针。")
    table = d.add_table(rows=3, cols=3)
    table.cell(0, 0).text = "指标"
    table.cell(0, 1).text = "基数"
    table.cell(0, 2).text = "目标"
    table.cell(1, 0).text = "双师型教师比例"
    table.cell(1, 1).text = "62%"
    table.cell(1, 2).text = "75%"
    merged = table.cell(2, 0).merge(table.cell(2, 1))
    merged.text = "合计"
    table.cell(2, 2).add_paragraph("第二段")
    d.add_paragraph("表后段落。")
    cn = d.styles.add_style("标题 2", WD_STYLE_TYPE.PARAGRAPH)  # WPS-style Chinese style name
    d.add_paragraph("二、主要任务", style=cn)
    p = d.add_paragraph("第一行")
    p.add_run().add_break()
    p.add_run("第二行")
    # tracked changes: the insertion is current text, the deletion is not
    d.element.body.insert(
        len(d.element.body) - 1,
        parse_xml(
            f"<w:p {W_NS}><w:r><w:t>保留</w:t></w:r>"
            f'<w:ins w:id="1" w:author="a"><w:r><w:t>新增</w:t></w:r></w:ins>'
            f'<w:del w:id="2" w:author="a"><w:r><w:delText>删除</w:delText></w:r></w:del></w:p>'
        ),
    )
    d.add_paragraph("   ")  # blank paragraphs leave no block
    return _docx_bytes(d)


def test_docx_paragraphs_tables_and_headings_in_body_order():
    doc = read_bytes(build_docx(), "plan.docx")
    assert doc.format == "docx" and doc.encoding is None
    assert doc.text == (
        "XX学院发展规划\n"
        "一、总体要求\n"
        "（一）指导思想\n"
        "坚持立德树人，全面贯彻党的教育方针。\n"
        "指标 | 基数 | 目标\n"
        "双师型教师比例 | 62% | 75%\n"
        "合计 | 第二段\n"
        "表后段落。\n"
        "二、主要任务\n"
        "第一行\n第二行\n"
        "保留新增"
    ), "TOC skipped, merged cell once, cell text joined, tracked deletion dropped"
    got = [(b.text[:7], b.kind, b.level) for b in doc.blocks]
    assert got == [
        ("XX学院发展规", "heading", 1),
        ("一、总体要求", "heading", 1),  # style level wins over numbering
        ("（一）指导思想", "heading", 5),
        ("坚持立德树人，", "paragraph", None),
        ("指标 | 基数", "table", None),
        ("双师型教师比例", "table", None),
        ("合计 | 第二", "table", None),
        ("表后段落。", "paragraph", None),
        ("二、主要任务", "heading", 2),
        ("第一行\n第二行", "paragraph", None),
        ("保留新增", "paragraph", None),
    ]
    assert_blocks_point_into_text(doc)


def test_docx_outline_level_on_a_custom_style_makes_a_heading():
    d = DocxDocument()
    style = d.styles.add_style("章节标题", WD_STYLE_TYPE.PARAGRAPH)
    ppr = style.element.get_or_add_pPr()
    ppr.append(parse_xml(f'<w:outlineLvl {W_NS} w:val="2"/>'))
    d.add_paragraph("专业建设", style=style)
    d.add_paragraph("正文。")
    doc = read_bytes(_docx_bytes(d), "x.docx")
    assert [(b.kind, b.level) for b in doc.blocks] == [("heading", 3), ("paragraph", None)]


def test_docx_text_box_content_is_read_after_its_anchor_paragraph():
    d = DocxDocument()
    d.add_paragraph("正文段落。")
    body = d.element.body
    body.insert(
        len(body) - 1,
        parse_xml(
            f'<w:p {W_NS} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
            '<w:r><w:t>锚点</w:t></w:r><w:r><mc:AlternateContent><mc:Choice Requires="wps">'
            "<w:txbxContent><w:p><w:r><w:t>文本框内容</w:t></w:r></w:p></w:txbxContent>"
            "</mc:Choice><mc:Fallback><w:txbxContent><w:p><w:r><w:t>文本框内容</w:t></w:r></w:p>"
            "</w:txbxContent></mc:Fallback></mc:AlternateContent></w:r></w:p>"
        ),
    )
    doc = read_bytes(_docx_bytes(d), "x.docx")
    assert doc.text == "正文段落。\n锚点\n文本框内容"  # the fallback copy is not read twice


# --------------------------------------------------------------------------- pdf

WRAPPED = "以习近平新时代中国特色社会主义思想为指导，全面贯彻党的教育方针，坚持职业教育类型定位。"


def _wrap(text: str, width: int = 20) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


def test_pdf_text_layer_with_page_numbers(tmp_path):
    data = make_pdf(
        [
            ["一、指导思想", *_wrap(WRAPPED), "- 1 -"],
            [
                "第 2 页",
                "（一）加强党的建设",
                "Party building and quality assurance.",
                "第2页 共2页",
            ],
        ]
    )
    f = tmp_path / "plan.pdf"
    f.write_bytes(data)
    doc = read_document(f)
    assert doc.format == "pdf"
    assert doc.text == (
        f"一、指导思想\n{WRAPPED}\n\n（一）加强党的建设\nParty building and quality assurance."
    ), "wrapped lines joined, page-number lines dropped, pages separated by a blank line"
    assert [(b.page, b.kind, b.level) for b in doc.blocks] == [
        (1, "heading", 4),
        (1, "paragraph", None),
        (2, "heading", 5),
        (2, "paragraph", None),
    ]
    assert_blocks_point_into_text(doc)


def test_pdf_with_only_an_owner_password_is_read():
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([["职业教育提质培优。"]]))))
    w.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    w.write(buf)
    assert read_bytes(buf.getvalue(), "x.pdf").text == "职业教育提质培优。"


# --------------------------------------------------------------------------- html

HTML = """<!DOCTYPE html>
<html><head><meta charset="gbk"><title>不显示的标题</title>
<style>p { color: red }</style><script>var x = "脚本";</script></head>
<body>
  <nav hidden>隐藏导航</nav>
  <h1>XX学院  发展规划</h1>
  <div style="display: none">隐藏内容</div>
  <h2>一、总体要求</h2>
  <p>坚持<b>立德树人</b>，
     全面贯彻党的教育方针。<!-- 注释 --></p>
  <div>（一）指导思想<span aria-hidden="true">图标</span></div>
  <table><tr><th>指标</th><th>目标</th></tr><tr><td>双师型</td><td>75%</td></tr></table>
  <ul><li>列表一</li><li>列表二</li></ul>
</body></html>
"""


def test_html_visible_text_only_with_declared_gbk(tmp_path):
    f = tmp_path / "plan.html"
    f.write_bytes(HTML.encode("gbk"))
    doc = read_document(f)
    assert doc.format == "html"
    assert doc.encoding in ("gbk", "gb18030", "gb2312")
    assert doc.text == (
        "XX学院 发展规划\n"
        "一、总体要求\n"
        "坚持立德树人， 全面贯彻党的教育方针。\n"
        "（一）指导思想\n"
        "指标 | 目标\n"
        "双师型 | 75%\n"
        "列表一\n"
        "列表二"
    )
    assert [(b.kind, b.level) for b in doc.blocks][:4] == [
        ("heading", 1),
        ("heading", 2),
        ("paragraph", None),
        ("heading", 5),
    ]
    assert_blocks_point_into_text(doc)


def test_html_forced_encoding():
    page = "<p>职业教育</p>".encode()
    assert read_bytes(page, "a.htm").text == "职业教育"
    gbk = "<p>学校</p>".encode("gbk")  # also valid UTF-8, and no <meta charset>
    assert read_bytes(gbk, "a.htm", encoding="gbk").text == "学校"


# --------------------------------------------------------------------------- dispatch, inputs


def test_read_bytes_uses_the_name_for_suffix_and_path():
    doc = read_bytes("一、总体要求\n正文。".encode(), "上传/规划.TXT")
    assert doc.path == "上传/规划.TXT" and doc.format == "txt"
    md = read_bytes(b"# T\n", "x.markdown")
    assert md.format == "md"


def test_sha256_is_of_the_raw_bytes(tmp_path):
    import hashlib

    raw = PLAN.encode("gbk")
    f = tmp_path / "a.txt"
    f.write_bytes(raw)
    assert read_document(f).sha256 == hashlib.sha256(raw).hexdigest()


def test_constants():
    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024
    assert {".txt", ".md", ".docx", ".pdf", ".html"} <= set(SUPPORTED_SUFFIXES)


def test_collect_inputs_expands_directories_and_reports_missing(tmp_path):
    plans = tmp_path / "plans"
    (plans / "sub").mkdir(parents=True)
    (plans / ".git").mkdir()
    for name in (
        "b.txt",
        "a.docx",
        "sub/c.pdf",
        "sub/d.html",
        "notes.xlsx",
        "~$a.docx",
        ".git/e.txt",
    ):
        (plans / name).write_bytes(b"x")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.rst").write_text("x")
    single = tmp_path / "one.txt"
    single.write_text("x")
    files, errors = collect_inputs([single, plans, tmp_path / "missing.txt", empty])
    assert files == [
        single,
        plans / "a.docx",
        plans / "b.txt",
        plans / "sub/c.pdf",
        plans / "sub/d.html",
    ]
    assert [(e.path, e.message) for e in errors] == [
        (str(tmp_path / "missing.txt"), "文件不存在 (file not found)"),
        (str(empty), errors[1].message),
    ]
    assert "目录中没有可读的规划文件" in errors[1].message and "no plan files" in errors[1].message


def test_docx_zip_limits_follow_the_size_limit():
    """The uncompressed total may be at most ten times the file size limit."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/media/image1.bin", bytes(range(256)) * 400)  # ~100 KB, incompressible
    data = buf.getvalue()
    with pytest.raises(InputError, match="zip bomb"):
        read_bytes(data, "x.docx", max_bytes=8 * 1024)


@pytest.mark.parametrize("encoding", ["gbk", "utf-8", "utf-16"])
def test_html_without_declared_charset_is_detected(encoding):
    body = "坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻党的教育方针，深化产教融合。"
    page = f"<html><body><h1>一、总体要求</h1><p>{body}</p></body></html>"
    assert read_bytes(page.encode(encoding), "a.html").text == f"一、总体要求\n{body}"


def test_a_directory_given_to_read_document_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="这是目录而不是文件"):
        read_document(tmp_path)
