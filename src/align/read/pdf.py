"""PDF plans (usually exported from Word): the text layer, page by page, with page numbers.

A PDF has lines, not paragraphs. Lines are joined back into paragraphs where a line runs on
(no sentence end, nearly full width, the next line not numbered), joining Chinese without a
space and Latin text with one, so that a sentence is not cut at a line wrap. Bare page-number
lines at the top or bottom of a page ("- 3 -", "第3页 共10页") are dropped. A paragraph never
runs across a page break, so every block has one page.

Scanned PDFs (no text layer) and PDFs that need a password cannot be read and say so.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata

from .._text import display_width
from ..chunk import heading_level, is_heading_line
from ..types import Document
from ._common import ENDS_PARAGRAPH, Piece, assemble, fail

_PAGE_NO = re.compile(
    r"^(?:[-—–\s]*\d{1,4}[-—–\s]*|第\s*\d+\s*页(?:\s*[，,/]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+|page\s*\d+(?:\s*of\s*\d+)?)$",
    re.I,
)
_SHORT_LINE = 0.8  # a line narrower than this share of the page's widest line ends a paragraph


def read_pdf(data: bytes, path: str) -> Document:
    if not data.startswith(b"%PDF-"):
        raise fail(path, "不是有效的 PDF 文件（缺少 %PDF 文件头）(not a PDF file)")
    if b"%%EOF" not in data.rstrip(b"\x00\r\n\t \x0c")[-2048:]:
        raise fail(path, "PDF 文件不完整，可能下载或复制时被截断 (truncated PDF: no %%EOF marker)")
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    logger = logging.getLogger("pypdf")
    old_level = logger.level
    logger.setLevel(logging.ERROR)  # pypdf warns about every repaired xref entry on stderr
    try:
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                from pypdf import PasswordType

                if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                    raise fail(
                        path,
                        "PDF 已加密，需要密码才能打开；请提供未加密的 PDF 或原始 .docx "
                        "(encrypted PDF: provide an unencrypted PDF or the original .docx)",
                    )
            pages = [page.extract_text() or "" for page in reader.pages]
        except DependencyError:
            raise fail(
                path,
                "PDF 使用 AES 加密，读取需要安装 cryptography 包 (AES-encrypted PDF: pip install cryptography)",
            ) from None
        except PyPdfError as e:
            raise fail(
                path, f"PDF 文件已损坏，无法读取 (corrupted PDF: {type(e).__name__})"
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as e:
            # pypdf lets these through on malformed objects; in user bytes they mean a broken file
            raise fail(
                path, f"PDF 文件已损坏，无法读取 (corrupted PDF: {type(e).__name__})"
            ) from None
    finally:
        logger.setLevel(old_level)

    if not pages:
        raise fail(path, "PDF 没有任何页面 (PDF has no pages)")
    pieces: list[Piece] = []
    for number, page_text in enumerate(pages, 1):
        for i, (text, kind, level) in enumerate(_paragraphs(page_text)):
            pieces.append(
                Piece(text, kind=kind, level=level, page=number, sep="\n" if i else "\n\n")
            )
    doc = assemble(pieces, path=path, fmt="pdf", raw=data)
    if not doc.blocks:
        raise fail(
            path,
            "PDF 没有文字层，可能是扫描件；请先做文字识别 (OCR) 或提供原始 .docx "
            "(scanned PDF without a text layer: run OCR or use the original .docx)",
        )
    return doc


def _wide(c: str) -> bool:
    return unicodedata.east_asian_width(c) in "WF"


def _paragraphs(page_text: str):
    """(text, kind, level) for the paragraphs of one page's text layer."""
    lines = [ln.strip() for ln in page_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [ln for ln in lines if ln]
    while lines and _PAGE_NO.match(lines[-1]):
        lines.pop()
    while lines and _PAGE_NO.match(lines[0]):
        lines.pop(0)
    if not lines:
        return
    widest = max(display_width(ln) for ln in lines)
    cur: list[str] = []

    def flush():
        text = ""
        for ln in cur:
            if text and not (_wide(text[-1]) and _wide(ln[0])):
                text += " "
            text += ln
        cur.clear()
        lvl = is_heading_line(text)
        return text, ("heading" if lvl is not None else "paragraph"), lvl

    for ln in lines:
        if cur:
            prev = cur[-1]
            new_para = (
                ENDS_PARAGRAPH.search(prev) is not None
                or heading_level(ln) is not None
                or (len(cur) == 1 and is_heading_line(prev) is not None)
                or display_width(prev) < _SHORT_LINE * widest
            )
            if new_para:
                yield flush()
        cur.append(ln)
    if cur:
        yield flush()
