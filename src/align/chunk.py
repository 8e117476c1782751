"""Cut a Document into evidence-sized chunks along the plan's own structure.

Chinese plans number their sections (第一章, 一、, （一）, 1., （1）); a reviewer locates evidence by
those numbers, so each chunk keeps the heading path it sits under. Chunks follow paragraphs;
only a paragraph too long for the model is cut, and then at sentence ends (。！？； and their
half-width forms). A sentence is cut inside only when it alone is over the limit.

Invariants (checked by the property tests):

* ``chunk.text == doc.text[chunk.location.start:chunk.location.end]``;
* chunk text never starts or ends with whitespace, chunks are in document order and never
  overlap, and together they hold every non-whitespace character of every block;
* ``count(chunk.text) <= max_tokens`` (with at least one character per chunk, so a counter that
  rates a single character above the limit still makes progress).
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from ._text import truncate
from .types import Block, Chunk, Document, Location

# Embedding models truncate at 512 sentencepiece tokens; e5 adds "passage: " and two special
# tokens. 200 keeps a chunk to roughly one paragraph, which is what a reviewer wants to read.
DEFAULT_MAX_TOKENS = 200
DEFAULT_MIN_CHARS = 30
# A line is only taken for a heading when it is this short: numbered body paragraphs are long.
HEADING_MAX_CHARS = 40
# Heading titles in paths are shortened to this many characters.
TITLE_MAX_CHARS = 40

# --------------------------------------------------------------------------- headings

_CN_NUM = "零〇一二三四五六七八九十百千两壹贰叁肆伍陆柒捌玖拾佰"
_DIGITS = "0-9０-９"
_N = f"[{_CN_NUM}]+"
_D = f"[{_DIGITS}]{{1,3}}"

# (pattern, level), first match wins. Levels only need to be ordered: outer sections smaller.
_HEADING_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(p), lvl)
    for p, lvl in (
        (rf"^第\s*(?:{_N}|{_D})\s*[编篇部](?:分)?(?![分门件])", 1),
        (rf"^第\s*(?:{_N}|{_D})\s*章", 2),
        (rf"^第\s*(?:{_N}|{_D})\s*节", 3),
        (rf"^{_N}\s*[、．.]", 4),  # 一、
        (rf"^[（(]\s*{_N}\s*[）)]", 5),  # （一）
        (rf"^{_D}(?:[.．]{_D})+(?=\s)", 6),  # 1.1 / 1.1.1 (decimal outline, then a space)
        (rf"^{_D}\s*[.．、](?![{_DIGITS}])", 6),  # 1. / 1、
        (rf"^[（(]\s*{_D}\s*[）)]", 7),  # （1）
        (rf"^{_D}\s*[）)]", 7),  # 1）
        (r"^[①-⑳㉑-㉟]", 8),
        (rf"^第\s*(?:{_N}|{_D})\s*条", 9),  # 第一条: an article, usually a lead paragraph
    )
)
_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+\S")
_SENT_END_IN_HEADING = re.compile(r"[。；;！!？?]")
_HEADING_TAIL_PUNCT = "。；;，,、！!？?"


def heading_level(text: str) -> int | None:
    """Level of a heading from its own text, or None when the text does not start like one.

    Markdown ``#`` marks give their count (1-6). Otherwise Chinese outline numbering:
    第X编/部分 1, 第X章 2, 第X节 3, 一、 4, （一） 5, 1. / 1.1 6, （1） / 1） 7, ① 8, 第X条 9.
    Only the start of the text is looked at; whether the whole line is a heading or a numbered
    body paragraph is :func:`is_heading_line`'s question.
    """
    s = text.lstrip()
    m = _MD_HEADING.match(s)
    if m:
        return len(m.group(1))
    for pat, lvl in _HEADING_PATTERNS:
        if pat.match(s):
            return lvl
    return None


def is_heading_line(text: str, *, max_chars: int = HEADING_MAX_CHARS) -> int | None:
    """Heading level when a whole line/paragraph reads as a numbered heading, else None.

    Short (at most ``max_chars``), starts with outline numbering, has no sentence end inside and
    does not end like a list item (``（1）指标由…提高到…；``). Readers use this for text without
    style information; ``1.`` list items in Markdown are left alone by the markdown reader.
    """
    s = text.strip()
    if not s or len(s) > max_chars or "\n" in s:
        return None
    lvl = heading_level(s)
    if lvl is None:
        return None
    if s.startswith("#"):
        return lvl
    if s[-1] in _HEADING_TAIL_PUNCT or _SENT_END_IN_HEADING.search(s[:-1]):
        return None
    return lvl


def heading_title(text: str, *, max_chars: int = TITLE_MAX_CHARS) -> str:
    """A heading as it appears in a heading path: markdown marks dropped, whitespace collapsed
    (a page-width wrap inside it goes, as for the model: :func:`unwrap`)."""
    s = re.sub(r"^#{1,6}[ \t]+", "", text.strip())
    s = unwrap(s)
    s = re.sub(r"[ \t#]+$", "", s) if s.endswith("#") else s
    s = re.sub(r"\s+", " ", s).strip()
    return truncate(s, max_chars)


def lead_title(text: str, *, max_chars: int = 20) -> str | None:
    """Heading path entry for a numbered body paragraph (``（一）加强党建。全面……``): its first
    sentence when short, else its first ``max_chars`` characters.

    None when the paragraph is not numbered or is a single sentence: a one-sentence numbered
    item (``（1）指标由…提高到…；``) is a list entry, not the opening of a section.
    """
    s = text.strip()
    if heading_level(s) is None or s.startswith("#"):
        return None
    m = _SENT_END.search(s)
    if m is None or not s[m.end() :].strip():
        return None
    m = re.search(r"[。；;！!？?：:，,]", s)
    if m and m.start() <= TITLE_MAX_CHARS:
        return heading_title(s[: m.start()])
    return heading_title(s[:max_chars] + "…")


_WRAP_END = re.compile("[\u3400-\u4dbf\u4e00-\u9fff、，“”《》（）]$")
_WRAP_START = re.compile("^[\u3400-\u4dbf\u4e00-\u9fff“‘《（]")
UNWRAP_MIN_CHARS = 20  # a shorter line ending without punctuation is a title or a table cell
# A numbered line this long that ends mid-phrase is the first line of a wrapped item
# (第九条……负责联合体运作的整体规划与), not a heading: Chinese plans' headings are shorter.
UNWRAP_HEADING_CHARS = 26


def unwrap(text: str) -> str:
    """``text`` with the line breaks inside Chinese sentences removed (a paragraph that was
    wrapped at a page width, see ``read.text.wrapped_lines``), for the model and for previews.

    A break goes when the line before it is long, is no short heading and ends in a character
    or a comma, and the next line starts with a character and is not numbered. Other breaks stay.
    """
    if "\n" not in text:
        return text
    lines = text.split("\n")
    parts = [lines[0]]
    for prev, line in zip(lines, lines[1:], strict=False):
        p, n = prev.strip(), line.strip()
        if (
            len(p) >= UNWRAP_MIN_CHARS
            and _WRAP_END.search(p)
            and _WRAP_START.match(n)
            and (len(p) >= UNWRAP_HEADING_CHARS or is_heading_line(p) is None)
            and heading_level(n) is None
        ):
            parts[-1] = parts[-1].rstrip()
            parts.append(n)
        else:
            parts.append("\n" + line)
    return "".join(parts)


# --------------------------------------------------------------------------- tokens

_CJK_RANGES = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
_TOKEN_PIECES = re.compile(
    rf"(?P<cjk>[{_CJK_RANGES}]+)"
    rf"|(?P<latin>[^\W\d_{_CJK_RANGES}]+)"  # letters of other scripts, CJK excluded
    r"|(?P<digits>\d+)"
    r"|(?P<space>\s+)"
    r"|(?P<other>[^\w\s]+|_+)",
)


def count_tokens(text: str) -> int:
    """Cheap estimate of sentencepiece tokens (multilingual-e5 / XLM-R) that errs high.

    The text is NFKC-normalised first, as the tokenizer does (full-width letters, ①, ㈠ expand).
    Then: one per CJK character (the vocabulary often joins two), a third of a token per
    lower-case and half a token per upper-case letter of a word, one per two digits, one per
    other non-space character, nothing for whitespace. On the example plans this is 1.0-1.6
    times the real count. Pass the real tokenizer's length function to
    ``chunk_document(count=...)`` when exactness matters.
    """
    n = 0.0
    for m in _TOKEN_PIECES.finditer(unicodedata.normalize("NFKC", text)):
        kind = m.lastgroup
        if kind == "cjk" or kind == "other":
            n += len(m.group())
        elif kind == "latin":
            word = m.group()
            upper = sum(map(str.isupper, word))
            n += math.ceil(upper / 2 + (len(word) - upper) / 3)
        elif kind == "digits":
            n += math.ceil(len(m.group()) / 2)
    return int(n)


# --------------------------------------------------------------------------- sentences

# A sentence ends at 。！？；… (or ! ? ; ｡) plus closing quotes/brackets, or at a half-width
# full stop followed by whitespace/end and not preceded by a digit ("1.5亿", "1. 标题" stay whole).
_SENT_END = re.compile(r"(?:[。！？；!?;｡]+|…+|(?<![0-9０-９])\.(?=\s|$))[”’」』）)】》\"']*")
_SOFT_BREAK = re.compile(r"[，,、：:]|\s")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of the sentences in ``text[start:end]``, whitespace trimmed, none empty."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _SENT_END.finditer(text, start, end):
        spans.append((pos, m.end()))
        pos = m.end()
    spans.append((pos, end))
    return [t for s, e in spans if (t := _trim(text, s, e)) is not None]


def _trim(text: str, s: int, e: int) -> tuple[int, int] | None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if s < e else None


def _hard_split(
    text: str, s: int, e: int, max_tokens: int, count: Callable[[str], int]
) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces within the limit, preferring a comma or space in
    the second half of each piece. ``count`` must not decrease as a string grows."""
    out: list[tuple[int, int]] = []
    # Any piece this long is certainly over the limit for realistic counters; bounding the search
    # keeps a huge unpunctuated file linear instead of quadratic.
    window = max(16, max_tokens * 16)
    while s < e:
        hi = min(e, s + window)
        # Gallop from max_tokens characters (one token per CJK character), then bisect: a few
        # short counts per piece. Invariant: text[s:lo_ok] fits, text[s:hi_bad] does not.
        lo_ok, hi_bad = s, None
        step = max(1, max_tokens // 4)
        probe = min(hi, s + max_tokens)
        while True:
            if count(text[s:probe]) <= max_tokens:
                lo_ok = probe
                if probe == hi:
                    break
                probe = min(hi, lo_ok + step)
                step *= 2
            else:
                hi_bad = probe
                break
        if hi_bad is None:
            cut = hi
        else:
            while hi_bad - lo_ok > 1:
                mid = (lo_ok + hi_bad) // 2
                if count(text[s:mid]) <= max_tokens:
                    lo_ok = mid
                else:
                    hi_bad = mid
            if lo_ok == s:
                cut = s + 1  # one character alone is over the limit: take it anyway
            else:
                cut = lo_ok
                best = None
                for m in _SOFT_BREAK.finditer(text, s + (cut - s) // 2, cut):
                    best = m.end()
                if best is not None and count(text[s:best]) <= max_tokens:
                    cut = best
        piece = _trim(text, s, cut)
        if piece is not None:
            out.append(piece)
        s = cut
    return out


# --------------------------------------------------------------------------- chunking


@dataclass
class _Unit:
    start: int
    end: int
    block: int  # index into doc.blocks
    first: bool  # first unit of its block (a paragraph boundary precedes it)
    heading: int | None  # level when the unit is a whole heading block
    lead: bool  # first unit of a numbered body paragraph that opens a section
    path: tuple[str, ...]  # heading path in effect for this unit
    section: int  # changes at every heading or lead paragraph


def _block_heading_level(b: Block) -> int | None:
    if b.kind == "heading":
        if b.level is not None:
            return b.level
        return heading_level(b.text) or 1
    return None


def _units(doc: Document, max_tokens: int, count: Callable[[str], int]) -> list[_Unit]:
    text = doc.text
    units: list[_Unit] = []
    stack: list[tuple[int, str]] = []
    section = 0
    for bi, b in enumerate(doc.blocks):
        span = _trim(text, b.start, b.end)
        if span is None:
            continue
        s, e = span
        hl = _block_heading_level(b)
        lead = False
        push: int | None = hl
        if hl is not None:
            title: str | None = heading_title(text[s:e])
        else:
            lvl = heading_level(text[s:e])
            title = lead_title(text[s:e]) if lvl is not None else None
            if lvl is not None and title:
                lead, push = True, lvl
        if push is not None:
            while stack and stack[-1][0] >= push:
                stack.pop()
            stack.append((push, title or ""))
            section += 1
        path = tuple(t for _, t in stack if t)
        if count(text[s:e]) <= max_tokens:
            spans = [(s, e)]
        else:
            spans = []
            for ss, se in split_sentences(text, s, e):
                if count(text[ss:se]) <= max_tokens:
                    spans.append((ss, se))
                else:
                    spans.extend(_hard_split(text, ss, se, max_tokens, count))
        for i, (us, ue) in enumerate(spans):
            units.append(
                _Unit(
                    us,
                    ue,
                    bi,
                    first=i == 0,
                    heading=hl if i == 0 and len(spans) == 1 else None,
                    lead=lead and i == 0,
                    path=path,
                    section=section,
                )
            )
    return units


def chunk_document(
    doc: Document,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    min_chars: int = DEFAULT_MIN_CHARS,
    count: Callable[[str], int] | None = None,
) -> list[Chunk]:
    """Chunks of ``doc`` in order, ids ``c0001``, ``c0002``, ….

    Each paragraph (block) becomes a chunk; one shorter than ``min_chars`` is merged with the
    next paragraph of its section, and a paragraph over ``max_tokens`` is cut into runs of whole
    sentences. A heading opens a new chunk and is kept with the text that follows it (so its
    words are evidence too); consecutive headings of deepening level stay together. A section
    with nothing but its heading still gets a chunk; consecutive such sections (an outline, a
    table of contents) share chunks up to ``max_tokens``.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    count = count or count_tokens
    text = doc.text
    groups = _group(_units(doc, max_tokens, count), text, max_tokens, min_chars, count)
    groups = _merge_short_tails(groups, text, max_tokens, min_chars, count)
    groups = _join_heading_only(groups, text, max_tokens, count)
    return _to_chunks(doc, groups)


TokenCounter = Callable[[str], int]


def _group(
    units: list[_Unit], text: str, max_tokens: int, min_chars: int, count: TokenCounter
) -> list[list[_Unit]]:
    """Units into chunks: a heading opens one (deepening headings stay together), a section's
    first paragraph does once the chunk has ``min_chars`` of content, and nothing exceeds
    ``max_tokens``."""
    groups: list[list[_Unit]] = []
    cur: list[_Unit] = []
    for u in units:
        if cur:
            only_headings = all(c.heading is not None for c in cur)
            if u.heading is not None:
                last = cur[-1].heading
                brk = not (only_headings and last is not None and u.heading > last)
            elif u.lead:
                brk = not only_headings
            elif u.first:
                content = [c for c in cur if c.heading is None]
                chars = sum(c.end - c.start for c in content)
                brk = bool(content) and chars >= min_chars
            else:
                brk = False
            if brk or count(text[cur[0].start : u.end]) > max_tokens:
                groups.append(cur)
                cur = []
        cur.append(u)
    if cur:
        groups.append(cur)
    return groups


def _merge_short_tails(
    groups: list[list[_Unit]], text: str, max_tokens: int, min_chars: int, count: TokenCounter
) -> list[list[_Unit]]:
    """A short tail (the last sentence of a long paragraph, a one-line closing remark) joins
    the chunk before it when that chunk is in the same section and there is room."""
    merged: list[list[_Unit]] = []
    for g in groups:
        if (
            merged
            and all(u.heading is None and not u.lead for u in g)
            and sum(u.end - u.start for u in g) < min_chars
            and merged[-1][-1].section == g[0].section
            and count(text[merged[-1][0].start : g[-1].end]) <= max_tokens
        ):
            merged[-1] = merged[-1] + g
        else:
            merged.append(g)
    return merged


def _join_heading_only(
    groups: list[list[_Unit]], text: str, max_tokens: int, count: TokenCounter
) -> list[list[_Unit]]:
    """Runs of sections with nothing but their heading (a table of contents, a bare outline, a
    file of 100,000 one-line headings) would each be a chunk of a few characters, every one
    embedded and scored and none of them evidence. Consecutive heading-only chunks are
    joined while they fit; the joined chunk is still one exact span of the text. A single
    heading-only section between sections with content keeps its own chunk.

    count_tokens adds up over text joined by whitespace (nothing crosses a blank), so the
    default counter sums per-chunk counts instead of recounting the growing run."""
    additive = count is count_tokens
    joined: list[list[_Unit]] = []
    run_tokens = -1  # tokens of joined[-1] when it is heading-only, else -1
    for g in groups:
        heading_only = all(u.heading is not None for u in g)
        if heading_only and run_tokens >= 0:
            if additive:
                n = run_tokens + count(text[g[0].start : g[-1].end])
            else:
                n = count(text[joined[-1][0].start : g[-1].end])
            if n <= max_tokens:
                joined[-1] = joined[-1] + g
                run_tokens = n
                continue
        joined.append(g)
        run_tokens = count(text[g[0].start : g[-1].end]) if heading_only else -1
    return joined


def _to_chunks(doc: Document, groups: list[list[_Unit]]) -> list[Chunk]:
    """One Chunk per group: its exact span, the heading path of its first content unit, and
    the page, line and paragraph it starts at."""
    text = doc.text
    newlines = [m.start() for m in re.finditer("\n", text)]
    chunks: list[Chunk] = []
    for i, g in enumerate(groups, 1):
        start, end = g[0].start, g[-1].end
        content = next((u for u in g if u.heading is None), g[-1])
        path = content.path
        b = doc.blocks[g[0].block]
        line = None
        if b.line is not None:
            line = (
                b.line + bisect.bisect_left(newlines, start) - bisect.bisect_left(newlines, b.start)
            )
        loc = Location(
            start=start,
            end=end,
            page=b.page,
            heading=" > ".join(path) if path else None,
            line=line,
            paragraph=g[0].block,
        )
        chunks.append(Chunk(id=f"c{i:04d}", text=text[start:end], location=loc, heading_path=path))
    return chunks
