"""Plain text and Markdown plans: decode faithfully, then one block per line (txt) or per
Markdown block (md), each with its 1-based line number.

Encodings: a byte-order mark decides (UTF-8/16/32); otherwise UTF-8 (a few bad bytes among
real UTF-8 text are replaced and reported, not a reason to guess another encoding); otherwise
UTF-16 without a BOM when it reads as Chinese; otherwise charset-normalizer, whose candidates are ranked by its own "chaos" measure. Short Chinese texts
are often equally plausible as GB18030 and as Korean/Japanese code pages; the tool reads Chinese
plans, so among equally good candidates the Chinese one wins. GBK/GB2312 are decoded as their
superset GB18030. Text is kept as it is apart from line ends (\\r\\n and \\r become \\n) and a
leading BOM.
"""

from __future__ import annotations

import codecs
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass

from .._text import display_width
from ..chunk import heading_level, is_heading_line
from ..errors import InputError, InputWarning
from ..types import Block, Document
from ._common import ENDS_PARAGRAPH, fail, sha256

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
BOMS = tuple(bom for bom, _ in _BOMS)
_CHINESE_CODECS = {"gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp936", "cp950"}
_GB_FAMILY = {"gbk", "gb2312", "cp936"}
# Share of control characters (other than tab, newline, form feed...) above which a "text" file
# is taken for binary data. Real plans have none; a stray one or two is tolerated.
_MAX_CONTROL_RATIO = 0.01


def decode(data: bytes, path: str, encoding: str | None = None) -> tuple[str, str]:
    """Decoded text (BOM dropped, line ends normalised) and the encoding used.

    A few bytes that do not decode (one stray byte, a file cut mid-character) are replaced
    with U+FFFD and reported in one :class:`~align.errors.InputWarning` with their count and
    the offset of the first; only text that is mostly undecodable is refused.
    """
    if encoding:
        codec = lookup(encoding, path)
        if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"
        text, bad = decode_counting(data, codec)
        if bad.bytes and not bad.few(text):
            raise fail(
                path,
                f"无法按 {encoding} 解码，第 {bad.first} 字节出错 (cannot decode as {encoding})",
            )
        used = encoding
    else:
        text, used, bad = _detect(data, path)
    if text.startswith("\ufeff"):
        text = text[1:]
    check_decoded(text, path, encoding, bad.sequences)
    if bad.bytes:
        warn_replaced(path, used, bad)
    return text.replace("\r\n", "\n").replace("\r", "\n"), used


def lookup(encoding: str, path: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise fail(path, f"未知的编码“{encoding}” (unknown encoding)") from None


@dataclass
class BadBytes:
    """What a decode had to replace: how many sequences, how many bytes, where the first was."""

    sequences: int = 0
    bytes: int = 0
    first: int | None = None

    def few(self, text: str) -> bool:
        """Stray damage in real text, not a wrong encoding: at least three well-decoded CJK
        characters per bad sequence (a file cut mid-character has one bad sequence). GBK
        bytes read as UTF-8 give about one CJK character per hundred bad sequences."""
        if not self.sequences:
            return True
        return len(_CJK.findall(text)) >= 3 * self.sequences


_CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_tls = threading.local()


def _record(e: UnicodeError) -> tuple[str, int]:
    if not isinstance(e, UnicodeDecodeError):
        raise e
    bad: BadBytes = _tls.bad
    bad.sequences += 1
    bad.bytes += e.end - e.start
    if bad.first is None:
        bad.first = e.start
    return "\ufffd", e.end


codecs.register_error("align-count", _record)


def decode_counting(data: bytes, codec: str) -> tuple[str, BadBytes]:
    """``data.decode(codec)`` with undecodable bytes replaced by U+FFFD, and what was replaced."""
    bad = BadBytes()
    _tls.bad = bad
    try:
        text = data.decode(codec, errors="align-count")
    finally:
        _tls.bad = None
    return text, bad


def warn_replaced(path: str, codec: str, bad: BadBytes) -> None:
    import warnings

    warnings.warn(
        InputWarning(
            f"有 {bad.bytes} 个字节无法按 {codec} 解码，已替换为 �，首个在第 {bad.first} 字节 "
            f"(replaced {bad.bytes} undecodable bytes, first at byte offset {bad.first})",
            path=path,
        ),
        stacklevel=3,
    )


def _plausible_utf16(data: bytes) -> str | None:
    """"utf-16-le" / "utf-16-be" when ``data`` reads as Chinese or plain text in that byte
    order without a BOM: nearly all characters CJK, CJK/full-width punctuation, or printable
    ASCII. GBK bytes taken as UTF-16 land in Hangul and private-use ranges, so they fail."""
    if len(data) < 4 or len(data) % 2:
        return None
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = data[:200_000].decode(codec)
        except UnicodeDecodeError:
            continue
        good = sum(1 for ch in text if _TEXTLIKE.match(ch))
        if good >= 0.95 * len(text):
            return codec
    return None


_TEXTLIKE = re.compile(
    "[\t\n\r\x20-\x7e\u00a0-\u00ff\u2000-\u206f\u3000-\u303f\u3400-\u4dbf"
    "\u4e00-\u9fff\uff00-\uffef\u2460-\u24ff\u25a0-\u25ff]"
)


def _detect(data: bytes, path: str) -> tuple[str, str, BadBytes]:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text, bad = decode_counting(data, codec)
            if not bad.few(text):
                raise fail(
                    path, f"文件以 {codec} 标记开头却无法解码 (invalid {codec} text)"
                ) from None
            return text, codec.replace("-sig", ""), bad
    if b"\x00" in data:
        utf16 = _plausible_utf16(data)
        if utf16:
            return data.decode(utf16), utf16, BadBytes()
        if _looks_like_utf16(data):
            raise fail(
                path,
                "文件像是没有 BOM 的 UTF-16 文本，请用 --encoding utf-16-le 或 utf-16-be 指定 "
                "(UTF-16 without a BOM: pass --encoding utf-16-le or utf-16-be)",
            )
        raise _binary(path)
    text, bad = decode_counting(data, "utf-8")
    if bad.few(text):
        return text, "utf-8", bad
    utf16 = _plausible_utf16(data)
    if utf16:
        return data.decode(utf16), utf16, BadBytes()
    import charset_normalizer

    results = list(charset_normalizer.from_bytes(data))
    if not results:
        raise fail(
            path,
            "无法识别文本编码，文件可能不是文本 (unknown encoding or not text); 可用 --encoding 指定",
        )
    best_chaos = min(r.chaos for r in results)
    tied = [r for r in results if r.chaos <= best_chaos + 1e-9]
    pick = next((r for r in tied if r.encoding in _CHINESE_CODECS), tied[0])
    codec = "gb18030" if pick.encoding in _GB_FAMILY else pick.encoding
    text, bad = decode_counting(data, codec)
    if not bad.few(text):  # the detector decodes a sample; the whole file may disagree
        raise fail(
            path,
            f"按检测到的编码 {codec} 解码失败 (cannot decode as {codec}); 可用 --encoding 指定",
        ) from None
    return text, codec, bad


def _looks_like_utf16(data: bytes) -> bool:
    """NULs in nearly every other byte and nowhere else: UTF-16 text of mostly ASCII/Latin."""
    sample = data[:4096]
    if len(sample) < 8 or len(data) % 2:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    return (odd >= 0.6 * half and even == 0) or (even >= 0.6 * half and odd == 0)


def _binary(path: str):
    return fail(path, "文件内容是二进制数据，不是文本 (binary data, not text)")


def check_not_binary(text: str, path: str, replaced: int = 0) -> None:
    """Refuse text with too many control characters or U+FFFD; ``replaced`` U+FFFD were put
    there by the decoder (and reported), so they do not count."""
    if "\x00" in text:
        raise _binary(path)
    sample = text[:200_000]
    bad = sum(
        1 for ch in sample if ch not in "\t\n\r\f\v" and unicodedata.category(ch) in ("Cc", "Cs")
    )
    bad += max(0, sample.count("\ufffd") - replaced)
    if sample and bad / len(sample) > _MAX_CONTROL_RATIO:
        raise _binary(path)


def check_decoded(text: str, path: str, forced: str | None, replaced: int = 0) -> None:
    """Binary check on decoded text; with a forced encoding the likelier cause is the encoding."""
    try:
        check_not_binary(text, path, replaced)
    except InputError:
        if not forced:
            raise
        raise fail(
            path,
            f"按 {forced} 解码后出现大量控制字符，编码可能不对 "
            "(wrong encoding? control characters after decoding)",
        ) from None


def _require_text(text: str, path: str) -> None:
    if not text.strip():
        raise fail(path, "文件只有空白字符，没有文字 (file contains only whitespace)")


def read_txt(data: bytes, path: str, *, encoding: str | None = None) -> Document:
    """One block per paragraph. Chinese plans saved as text usually put a paragraph on a line;
    text copied out of a PDF keeps the page's line breaks, and those lines are joined back
    into their paragraph (:func:`wrapped_lines`). ``Document.text`` is the file's text either
    way, so a joined block keeps its line breaks and its offsets stay exact."""
    text, used = decode(data, path, encoding)
    _require_text(text, path)
    lines = text.split("\n")
    runs_on = wrapped_lines(lines)
    blocks: list[Block] = []
    pos = 0
    start: int | None = None  # of the open paragraph
    first_line = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped:
            s = pos + (len(line) - len(line.lstrip()))
            if start is None:
                start, first_line = s, i + 1
            if i not in runs_on:
                end = s + len(stripped)
                body = text[start:end]
                lvl = is_heading_line(body)
                kind = "heading" if lvl is not None else "paragraph"
                blocks.append(Block(body, start, end, kind=kind, level=lvl, line=first_line))
                start = None
        pos += len(line) + 1
    return Document(path, text, tuple(blocks), "txt", sha256(data), used)


# ---------------------------------------------------------------- lines wrapped at a fixed width
#
# A plan copied out of a PDF (or saved from an editor that wraps) arrives as lines cut at the
# page width, mid-sentence: "……推进职业教育与普通教育双向互认、纵向流动，建设一\n体化……".
# Taken line by line, such a "paragraph" is a fragment that names half a measure. Two steps
# find them without guessing: the wrap width is the width most lines share (a plan written
# one paragraph a line has no such width), and a line runs on when it has that width, does
# not end a sentence and the next line does not start a new item, heading or table row.

_MARKUP_LINE = re.compile(r"^(?:#{1,6}\s|\||[-*+>]\s|```|~~~)")
# a table row copied as text: cells apart by a tab or several spaces, or a leading row number
_ROW_LIKE = re.compile(r"\t| {2,}|\u3000{2,}|^\d{1,3}\s")
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff])[ \u3000]+(?=[\u4e00-\u9fff])")
WRAP_MIN_WIDTH = 24  # display columns; narrower lines are items, not a page width
WRAP_MAX_WIDTH = 120
WRAP_SHARE = 0.08  # of the non-blank lines must share the wrap width (and at least 3)
WRAP_SLACK = 0.1  # a wrapped line may be this much narrower (punctuation, Latin, a short word)
# A numbered line as wide as the page (less a paragraph's two-character indent) that ends
# mid-phrase is the first line of an item (第九条……负责联合体运作的整体规划与), not a heading.
WRAP_INDENT = 4


def _row_like(line: str) -> bool:
    return _ROW_LIKE.search(line) is not None or len(_CJK_GAP.findall(line)) >= 2


def wrap_width(lines: list[str]) -> int | None:
    """The display width the text was wrapped at, or None when it was not wrapped.

    The width ``w`` (``WRAP_MIN_WIDTH``..``WRAP_MAX_WIDTH``) whose window ``[w·0.9, w]`` holds
    the most lines, ties going to the wider; it must hold ``WRAP_SHARE`` of the non-blank lines
    and at least three. Short numbered headings do not count: they are not cut at the width.
    """
    stripped = [ln.strip() for ln in lines]
    body = [s for s in stripped if s]
    widths = Counter(display_width(s) for s in body if is_heading_line(s) is None)
    need = max(3.0, WRAP_SHARE * len(body))
    best: tuple[int, int] | None = None  # (lines in the window, width)
    for w in sorted(x for x in widths if WRAP_MIN_WIDTH <= x <= WRAP_MAX_WIDTH):
        held = sum(n for x, n in widths.items() if w * (1 - WRAP_SLACK) <= x <= w)
        if held >= need and (best is None or held >= best[0]):
            best = (held, w)
    return best[1] if best else None


def wrapped_lines(lines: list[str]) -> set[int]:
    """Indexes of the lines that run on into the next line (see the comment above)."""
    width = wrap_width(lines)
    if width is None:
        return set()
    out: set[int] = set()
    for i in range(len(lines) - 1):
        s, nxt = lines[i].strip(), lines[i + 1].strip()
        if not s or not nxt:
            continue
        w = display_width(s)
        if not width * (1 - WRAP_SLACK) <= w <= width + 2 or ENDS_PARAGRAPH.search(s):
            continue
        if _MARKUP_LINE.match(s) or _MARKUP_LINE.match(nxt) or heading_level(nxt) is not None:
            continue
        if _row_like(s) or _row_like(nxt):
            continue
        if is_heading_line(s) is not None and w < width - WRAP_INDENT:
            continue  # a heading of its own, not the first line of a numbered paragraph
        out.add(i)
    return out


_MD_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])[ \t]+")
_MD_TABLE = re.compile(r"^\s*\|")
_MD_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def read_md(data: bytes, path: str, *, encoding: str | None = None) -> Document:
    """Markdown blocks: ATX headings (level = number of #), paragraphs (consecutive lines), list
    items, table rows, fenced code. Markup stays in the text: the text is the file's. A short
    line with Chinese outline numbering (一、, （一）) that is not list syntax is a heading too."""
    text, used = decode(data, path, encoding)
    _require_text(text, path)
    blocks: list[Block] = []
    para: list[tuple[int, int, int]] = []  # (start, end, line) of the open paragraph's lines
    para_kind = "paragraph"

    def close() -> None:
        nonlocal para_kind
        if para:
            s, e = para[0][0], para[-1][1]
            blocks.append(Block(text[s:e], s, e, kind=para_kind, line=para[0][2]))  # type: ignore[arg-type]
            para.clear()
        para_kind = "paragraph"

    in_fence: str | None = None
    pos = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        lstart = pos
        pos += len(line) + 1
        stripped = line.strip()
        span = (lstart + len(line) - len(line.lstrip()), lstart + len(line.rstrip()), lineno)
        fence = _MD_FENCE.match(line)
        if in_fence is not None:
            if stripped:
                para.append(span)
            if fence and fence.group(1) == in_fence:
                in_fence = None
                close()
            continue
        if fence:
            close()
            in_fence = fence.group(1)
            para.append(span)
            continue
        if not stripped:
            close()
            continue
        atx = _MD_ATX.match(line)
        if atx:
            close()
            level = len(atx.group(1))
            blocks.append(
                Block(stripped, span[0], span[1], kind="heading", level=level, line=lineno)
            )
            continue
        if _MD_TABLE.match(line):
            close()
            blocks.append(Block(stripped, span[0], span[1], kind="table", line=lineno))
            continue
        if _MD_LIST.match(line):
            close()
            para.append(span)
            continue
        lvl = is_heading_line(stripped)
        if lvl is not None:
            close()
            blocks.append(Block(stripped, span[0], span[1], kind="heading", level=lvl, line=lineno))
            continue
        para.append(span)
    close()
    return Document(path, text, tuple(blocks), "md", sha256(data), used)
