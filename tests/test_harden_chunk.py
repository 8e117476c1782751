"""Issue 14, row 13 (the chunker's part): sections that hold nothing but their heading are
joined into shared chunks, so 100,000 one-line headings are not 100,000 chunks to embed; the
chunker's invariants (exact spans, order, nothing lost, the token limit) still hold."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_chunk import _HEADING, _PARAGRAPH, assert_invariants

from align.chunk import DEFAULT_MAX_TOKENS, chunk_document, count_tokens
from align.read import read_bytes

NUMS = "一二三四五六七八九十"


def _heading_only(doc, chunk, max_tokens) -> bool:
    """Every block the chunk touches is a whole heading that fits alone."""
    s, e = chunk.location.start, chunk.location.end
    touched = [b for b in doc.blocks if b.start < e and b.end > s]
    return bool(touched) and all(
        b.kind == "heading" and s <= b.start and b.end <= e and count_tokens(b.text) <= max_tokens
        for b in touched
    )


def test_100000_one_line_headings_share_chunks_with_exact_locations():
    lines = [f"{NUMS[i % 10]}、工作要点第{i}项" for i in range(100_000)]
    text = "\n".join(lines) + "\n"
    doc = read_bytes(text.encode("utf-8"), "headings.txt")
    chunks = chunk_document(doc)
    assert len(chunks) <= 100_000 // 15  # was one chunk per line
    # the invariants, checked in one pass (assert_invariants is quadratic in blocks)
    assert [c.id for c in chunks] == [f"c{i:04d}" for i in range(1, len(chunks) + 1)]
    assert "\n".join(c.text for c in chunks) == text.strip()  # in order, nothing lost or doubled
    for c in chunks:
        loc = c.location
        assert c.text == text[loc.start : loc.end] and count_tokens(c.text) <= DEFAULT_MAX_TOKENS
        # the report's locations stay exact: line, block and heading of the chunk's own text
        first = c.text.split("\n", 1)[0]
        assert lines[loc.line - 1] == first == doc.blocks[loc.paragraph].text
        assert c.heading_path == (c.text.rsplit("\n", 1)[-1],)  # the last heading it holds


def test_a_lone_heading_only_section_keeps_its_own_chunk():
    text = (
        "一、总体要求\n坚持立德树人，深化产教融合，推行现代学徒制。\n"
        "二、主要任务\n"
        "三、保障措施\n加强组织领导，成立工作专班，每季度通报一次进展。\n"
    )
    chunks = chunk_document(read_bytes(text.encode(), "p.txt"))
    assert [c.text.split("\n")[0] for c in chunks] == ["一、总体要求", "二、主要任务", "三、保障措施"]


def test_a_table_of_contents_becomes_one_chunk_before_the_body():
    toc = "".join(f"{NUMS[i]}、第{i + 1}部分标题\n" for i in range(8))
    body = "一、第1部分标题\n坚持立德树人，深化产教融合，推行现代学徒制和订单培养。\n"
    doc = read_bytes((toc + body).encode(), "p.txt")
    chunks = chunk_document(doc)
    assert chunks[0].text == toc.strip() and chunks[0].location.line == 1
    assert chunks[1].text == body.strip() and chunks[1].location.line == 9


_HEAVY = st.lists(st.one_of(_HEADING, _HEADING, _HEADING, _PARAGRAPH), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_HEAVY, max_tokens=st.integers(min_value=8, max_value=120))
def test_heading_runs_join_as_far_as_the_limit_allows(lines, max_tokens):
    text = "\n".join(lines)
    if not text.strip():
        return
    doc = read_bytes(text.encode("utf-8"), "plan.txt")
    chunks = chunk_document(doc, max_tokens=max_tokens)
    assert_invariants(doc, chunks, max_tokens)
    for a, b in zip(chunks, chunks[1:], strict=False):
        if _heading_only(doc, a, max_tokens) and _heading_only(doc, b, max_tokens):
            joined = doc.text[a.location.start : b.location.end]
            assert count_tokens(joined) > max_tokens, (a.text, b.text)
