"""Plain text copied out of a PDF: lines cut at the page width are joined back into paragraphs.

Real plans arrive like this (several of the real dev documents are wrapped at 29-36 characters);
taken line by line, each "paragraph" is a fragment that names half a measure. The texts here are
written for the test and wrapped with ``textwrap`` at a fixed width, as such a copy would be.
"""

from __future__ import annotations

from align.chunk import chunk_document
from align.read.text import read_txt, wrap_width
from align.scoring import chunk_embed_text

PARAGRAPHS = [
    "一、加强教师队伍建设",
    "实施教师素质提升计划，每年组织专业课教师到合作企业实践不少于一个月，新增具有“双师”资格的"
    "教师三十名以上，建设一批校企共建的教师实践基地，完善兼职教师聘用和管理办法。",
    "二、深化产教融合",
    "与区域龙头企业共建产业学院两个，联合开发课程标准和实训项目，推行现代学徒制试点，把企业真实"
    "项目引入课堂教学，校企共同评价学生的实习成绩，形成协同育人的长效机制。",
    "三、推进中高职贯通培养",
    "扩大中高职贯通培养规模，统一制定一体化人才培养方案，共同组织转段考核，畅通技术技能人才成长"
    "通道，探索中职、高职、本科一体化的课程体系和教学标准建设工作。",
]


def _wrap(paragraphs: list[str], width: int = 30) -> str:
    lines: list[str] = []
    for p in paragraphs:
        lines.extend(p[i : i + width] for i in range(0, len(p), width))
    return "\n".join(lines) + "\n"


def _doc(text: str):
    return read_txt(text.encode("utf-8"), "plan.txt")


def test_wrapped_paragraphs_are_joined_back():
    text = _wrap(PARAGRAPHS)
    doc = _doc(text)
    assert wrap_width(text.split("\n")) == 60  # 30 CJK characters = 60 columns
    assert [b.kind for b in doc.blocks] == ["heading", "paragraph"] * 3
    for block, original in zip(doc.blocks, PARAGRAPHS, strict=True):
        assert block.text.replace("\n", "") == original
        assert doc.text[block.start : block.end] == block.text  # offsets stay exact
    assert doc.text == text  # the file's text, not a rewritten one
    assert [b.line for b in doc.blocks] == [1, 2, 5, 6, 9, 10]


def test_chunks_are_paragraphs_and_the_model_sees_no_wrap():
    doc = _doc(_wrap(PARAGRAPHS))
    chunks = chunk_document(doc)
    assert len(chunks) == 3
    for chunk, (head, body) in zip(
        chunks, zip(PARAGRAPHS[::2], PARAGRAPHS[1::2], strict=True), strict=True
    ):
        embed = chunk_embed_text(chunk, heading_context=True)
        assert "\n".join([head, body]) == embed  # the heading's break stays, the wraps go
        assert body in embed


def test_one_paragraph_a_line_is_unchanged():
    text = "\n".join(PARAGRAPHS) + "\n"
    doc = _doc(text)
    assert wrap_width(text.split("\n")) is None
    assert [b.text for b in doc.blocks] == PARAGRAPHS


def test_numbered_items_and_table_rows_are_not_joined():
    items = [
        f"（{n}）{body}"
        for n, body in zip(
            "一二三四",
            [
                "完善教师培训体系，组织骨干教师参加国家级培训项目和企业实践",
                "建设专业群教学资源库，开发活页式和工作手册式新形态教材",
                "推进学分银行建设，探索职业技能等级证书与学历证书互通衔接",
                "健全质量保证体系，定期发布人才培养质量年度报告并接受监督",
            ],
            strict=True,
        )
    ]
    rows = [
        "1  教师培训  人事处  2024年12月",
        "2  资源库建设  教务处  2025年6月",
        "3  学分银行  继续教育学院  2025年12月",
    ]
    text = "\n".join(items + rows) + "\n"
    doc = _doc(text)
    assert [b.text for b in doc.blocks] == items + rows


def test_a_heading_is_not_glued_to_its_paragraph():
    heading = "（二）深化三教改革"
    text = _wrap(PARAGRAPHS[1:2]) + heading + "\n" + _wrap(PARAGRAPHS[3:4])
    doc = _doc(text)
    assert [b.text.replace("\n", "") for b in doc.blocks] == [
        PARAGRAPHS[1],
        heading,
        PARAGRAPHS[3],
    ]
    assert doc.blocks[1].kind == "heading"


def test_a_numbered_item_cut_at_the_width_is_one_paragraph():
    """第九条…: the first line is as wide as the page less the paragraph's two-character indent
    and looks like a heading on its own; it ends mid-phrase, so it runs on."""
    item = (
        "第九条联合体领导小组是联合体的决策机构，负责联合体运作的整体规划与管理，决定贯通专业的"
        "调整与优化，统筹与整合相关教学资源，审议专业教学管理制度并推动实施。"
    )
    first, rest = item[:28], item[28:]
    lines = [first] + [rest[i : i + 30] for i in range(0, len(rest), 30)]
    text = "\n".join(_wrap(PARAGRAPHS[1:2]).splitlines() + lines + _wrap(PARAGRAPHS[3:4]).splitlines())
    doc = _doc(text + "\n")
    assert [b.text.replace("\n", "") for b in doc.blocks] == [PARAGRAPHS[1], item, PARAGRAPHS[3]]
    (chunk,) = [c for c in chunk_document(doc) if c.text.startswith("第九条")]
    assert "\n" not in chunk_embed_text(chunk, heading_context=True)
