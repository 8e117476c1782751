"""Web-page plans: the visible text only, one block per block-level element.

Scripts, styles, templates, the <head>, and elements hidden with ``hidden``,
``aria-hidden="true"`` or an inline ``display:none``/``visibility:hidden`` are dropped.
Whitespace is collapsed as a browser would (except in <pre>). Headings <h1>-<h6> keep their
level; table rows become one block each, cells joined with " | ".

The encoding comes from --encoding, else a BOM, else a ``<meta charset>`` the bytes agree
with, else the same rules as text files (:func:`align.read.text.decode`): a few bad bytes in a
UTF-8 page are replaced and reported, never a reason to guess a Cyrillic code page.
"""

from __future__ import annotations

import codecs
import re
import warnings

from ..chunk import is_heading_line
from ..errors import InputError
from ..types import Document
from ._common import Piece, assemble, fail, no_text
from .text import BOMS, check_decoded, decode, decode_counting, warn_replaced

_DROP = {
    "script",
    "style",
    "noscript",
    "template",
    "head",
    "title",
    "meta",
    "link",
    "svg",
    "math",
    "iframe",
    "object",
    "embed",
    "canvas",
    "audio",
    "video",
    "select",
    "button",
}
_BLOCK = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "nav",
    "aside",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "form",
    "fieldset",
    "address",
    "hr",
    "br",
    "body",
    "html",
    "center",
    "caption",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "details",
    "summary",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_WS = re.compile(r"[ \t\n\r\f\v]+")


def read_html(data: bytes, path: str, *, encoding: str | None = None) -> Document:
    from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, Tag
    from bs4.element import CData, Declaration, ProcessingInstruction

    markup, used = decode_html(data, path, encoding)
    with warnings.catch_warnings():  # bs4's own advice ("looks like a URL") is not for users
        warnings.simplefilter("ignore")
        soup = BeautifulSoup(markup, "html.parser")
    skip_strings = (Comment, Doctype, Declaration, ProcessingInstruction, CData)

    pieces: list[Piece] = []
    buf: list[str] = []

    def flush() -> None:
        text = _WS.sub(" ", "".join(buf)).strip()
        buf.clear()
        if text:
            lvl = is_heading_line(text)
            pieces.append(
                Piece(text, kind="heading" if lvl is not None else "paragraph", level=lvl)
            )

    def hidden(tag: Tag) -> bool:
        if tag.name in _DROP or tag.has_attr("hidden"):
            return True
        if str(tag.get("aria-hidden", "")).lower() == "true":
            return True
        return bool(_HIDDEN_STYLE.search(str(tag.get("style", ""))))

    def inline_text(tag: Tag) -> str:
        out: list[str] = []
        for node in tag.descendants:
            if isinstance(node, NavigableString) and not isinstance(node, skip_strings):
                if not any(isinstance(p, Tag) and hidden(p) for p in _parents_until(node, tag)):
                    out.append(str(node))
        return _WS.sub(" ", "".join(out)).strip()

    def walk(node) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, skip_strings):
                    buf.append(str(child))
                continue
            if not isinstance(child, Tag) or hidden(child):
                continue
            name = child.name
            if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
                flush()
                text = inline_text(child)
                if text:
                    pieces.append(Piece(text, kind="heading", level=int(name[1])))
            elif name == "tr":
                flush()
                cells = [inline_text(c) for c in child.find_all(["td", "th"], recursive=False)]
                cells = [c for c in cells if c]
                if cells:
                    pieces.append(Piece(" | ".join(cells), kind="table"))
            elif name == "pre":
                flush()
                text = child.get_text().strip("\n")
                if text.strip():
                    pieces.append(Piece(text))
            elif name in _BLOCK or name in ("td", "th"):
                flush()
                walk(child)
                flush()
            else:
                walk(child)

    walk(soup)
    flush()
    doc = assemble(pieces, path=path, fmt="html", raw=data, encoding=used)
    check_decoded(doc.text, path, encoding, markup.count("\ufffd"))  # judged in decode
    if not doc.blocks:
        raise no_text(path, "网页")
    return doc


def decode_html(data: bytes, path: str, encoding: str | None) -> tuple[str, str]:
    """The page's text by the text files' rules (BOM, then UTF-8 with stray bad bytes replaced
    and reported, then detection), except that a ``<meta charset>`` the bytes agree with is
    taken first, as a browser would. ``--encoding`` overrides both."""
    if encoding is None and not data.startswith(BOMS):
        declared = _declared_charset(data)
        if declared:
            codec = "gb18030" if declared in ("gbk", "gb2312", "cp936") else declared
            text, bad = decode_counting(data, codec)
            if bad.few(text) and "\x00" not in text:
                if text.startswith("\ufeff"):
                    text = text[1:]
                check_decoded(text, path, None, bad.sequences)
                if bad.bytes:
                    warn_replaced(path, codec, bad)
                return text, codec
    if b"\x00" in data and not data.startswith(BOMS) and encoding is None:
        try:
            return decode(data, path)
        except InputError:
            raise fail(path, "文件内容是二进制数据，不是网页 (binary data, not HTML)") from None
    return decode(data, path, encoding)


def _declared_charset(data: bytes) -> str | None:
    from bs4.dammit import EncodingDetector

    name = EncodingDetector.find_declared_encoding(data[:4096], is_html=True)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _parents_until(node, stop):
    p = node.parent
    while p is not None and p is not stop:
        yield p
        p = p.parent
