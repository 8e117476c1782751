"""Word (.docx) plans: paragraphs and table rows in body order, headings from styles and from
Chinese outline numbering.

The body XML is walked directly (python-docx opens the package and resolves styles) so that
tables stay where they are, tracked insertions count and deletions do not, and text boxes are
not lost. The table of contents is skipped: it repeats the headings and would be found as
"evidence" for everything. Headers, footers and footnotes are not read.

Before python-docx sees the file, the zip directory is checked: a .docx is a zip archive and a
small one can expand to gigabytes (a zip bomb).
"""

from __future__ import annotations

import io
import re
import zipfile

from ..chunk import is_heading_line
from ..types import Document
from ._common import OLE_MAGIC, Piece, assemble, fail, no_text

ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_RATIO = 100  # uncompressed / compressed, for members over ZIP_RATIO_MIN_SIZE
ZIP_RATIO_MIN_SIZE = 1024 * 1024
ZIP_TOTAL_FACTOR = 10  # uncompressed total may be at most this many times the file size limit

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def _q(tag: str) -> str:
    return f"{{{_W}}}{tag}"


_P, _TBL, _TR, _TC, _SDT, _SDTCONTENT = map(_q, ("p", "tbl", "tr", "tc", "sdt", "sdtContent"))
_T, _TAB, _BR, _CR, _NBH = map(_q, ("t", "tab", "br", "cr", "noBreakHyphen"))
_SKIP = {
    _q(t)
    for t in ("pPr", "rPr", "del", "moveFrom", "delText", "instrText", "tblPr", "trPr", "tcPr")
} | {f"{{{_MC}}}Fallback"}
_TXBX = _q("txbxContent")

_STYLE_HEADING = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.I)
_STYLE_TITLE = {"title", "标题", "subtitle", "副标题"}
_STYLE_TOC = re.compile(r"^(?:toc|目录)\s*\d*$|^toc heading$|^table of contents", re.I)

LEGACY_MESSAGE = (
    "这是旧版 Word 97-2003 (.doc) 文件，请在 Word 或 WPS 中“另存为”.docx 后再试 "
    "(legacy .doc is not supported; save it as .docx)"
)


def check_zip(data: bytes, path: str, max_bytes: int) -> zipfile.ZipFile:
    """Open the archive and refuse zip bombs and non-Word archives before any parsing."""
    if data.startswith(OLE_MAGIC):
        raise fail(
            path,
            "这是旧版 Word (.doc) 文件或加密的 Word 文件，请在 Word 或 WPS 中去掉密码并另存为 .docx "
            "(legacy .doc or password-protected Word file; save as an unprotected .docx)",
        )
    if not data.startswith(b"PK"):
        raise fail(
            path, "不是有效的 .docx 文件（不是 zip 格式）(not a .docx file: not a zip archive)"
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        raise fail(path, f".docx 文件已损坏或不完整 (corrupted or truncated .docx: {e})") from None
    if len(infos) > ZIP_MAX_ENTRIES:
        raise _bomb(path, f"{len(infos)} entries")
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > ZIP_RATIO_MIN_SIZE and ratio > ZIP_MAX_RATIO:
            raise _bomb(path, f"{info.filename} expands {ratio:.0f}x")
    if total > ZIP_TOTAL_FACTOR * max_bytes:
        raise _bomb(path, f"expands to {total / 2**20:.0f} MB")
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names:
        raise fail(path, "zip 压缩包中没有 Word 文档内容 (zip archive is not a .docx)")
    return zf


def _bomb(path: str, detail: str):
    return fail(path, f"解压后体积异常，疑似压缩炸弹，已拒绝 (zip bomb refused: {detail})")


def read_docx(data: bytes, path: str, *, max_bytes: int) -> Document:
    check_zip(data, path, max_bytes).close()
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        pieces = list(_walk(document, document.element.body))
    except Exception as e:  # anything the parser trips over in user bytes means a broken file
        raise fail(
            path, f".docx 文件已损坏，无法读取 (corrupted .docx: {type(e).__name__})"
        ) from None
    doc = assemble(pieces, path=path, fmt="docx", raw=data)
    if not doc.blocks:
        raise no_text(path, "Word 文档")
    return doc


def _walk(document, container):
    """Pieces for the block-level children of ``container`` (body, sdtContent), in order."""
    for el in container:
        if el.tag == _P:
            yield from _paragraph(document, el)
        elif el.tag == _TBL:
            yield from _table(document, el)
        elif el.tag == _SDT:
            content = el.find(_SDTCONTENT)
            if content is not None:
                yield from _walk(document, content)


def _paragraph(document, p):
    text, boxes = _para_text(p)
    style = _style(document, p)
    if style is not None and _STYLE_TOC.match(style.name or ""):
        return
    level = _style_level(p, style)
    if level is not None:
        yield Piece(text, kind="heading", level=level)
    else:
        lvl = is_heading_line(text)
        yield Piece(text, kind="heading" if lvl is not None else "paragraph", level=lvl)
    for box in boxes:
        yield from _walk(document, box)


def _table(document, tbl):
    for tr in tbl.iterchildren(_TR):
        cells = []
        for tc in tr.iterchildren(_TC):
            parts = [_para_text(p)[0].strip() for p in tc.iter(_P)]
            cell = " ".join(t for t in parts if t)
            if cell:
                cells.append(cell)
        if cells:
            yield Piece(" | ".join(cells), kind="table")


def _para_text(p) -> tuple[str, list]:
    out: list[str] = []
    boxes: list = []

    def walk(el) -> None:
        for ch in el:
            tag = ch.tag
            if tag == _T:
                out.append(ch.text or "")
            elif tag == _TAB:
                out.append("\t")
            elif tag in (_BR, _CR):
                out.append("\n")
            elif tag == _NBH:
                out.append("-")
            elif tag == _TXBX:
                boxes.append(ch)
            elif tag in _SKIP or tag == _P:
                continue
            else:
                walk(ch)

    walk(p)
    return "".join(out), boxes


def _style(document, p):
    ppr = p.pPr
    style_id = ppr.pStyle.val if ppr is not None and ppr.pStyle is not None else None
    try:
        from docx.enum.style import WD_STYLE_TYPE

        return document.part.get_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
    except (KeyError, ValueError, AttributeError):
        return None


def _style_level(p, style) -> int | None:
    """Heading level the document itself declares: outline level on the paragraph or its style
    chain, or a heading/title style name (Heading 1, 标题 1, Title)."""
    direct = _outline(p.pPr)
    if direct is not None:
        return direct
    seen = 0
    s = style
    while s is not None and seen < 20:
        m = _STYLE_HEADING.match((s.name or "").strip())
        if m:
            return int(m.group(1))
        if (s.name or "").strip().lower() in _STYLE_TITLE:
            return 1
        lvl = _outline(s.element.pPr)
        if lvl is not None:
            return lvl
        s = s.base_style
        seen += 1
    return None


def _outline(ppr) -> int | None:
    if ppr is None:
        return None
    el = ppr.find(_q("outlineLvl"))
    if el is None:
        return None
    try:
        val = int(el.get(_q("val")))
    except (TypeError, ValueError):
        return None
    return val + 1 if 0 <= val < 9 else None
