"""Build examples/plan.docx from examples/plan.txt.

The .docx exists so the docx reader and the whole pipeline are exercised on a file that looks like
what schools actually send: real heading styles (so heading levels come from the document, not from
guessing at numbering), body paragraphs, and one table. The indicator list under 二、建设目标
("（1）…由X提高到Y；") is turned into a table, as plans usually print it.

The output is byte-for-byte reproducible (fixed core properties and zip timestamps), so re-running
the script does not dirty the repository.

Usage: python scripts/make_example_docx.py [plan.txt] [plan.docx]
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IN = ROOT / "examples" / "plan.txt"
DEFAULT_OUT = ROOT / "examples" / "plan.docx"

CN_NUM = "一二三四五六七八九十"
# Chinese official-document numbering: 一、 > （一） > 1. ; （1） is a list item, not a heading.
LEVEL_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^[{CN_NUM}]+、")),
    (2, re.compile(rf"^（[{CN_NUM}]+）")),
    (3, re.compile(r"^\d+\.\s*\S")),
)
INDICATOR = re.compile(r"^（(\d+)）(.+?)由(.+?)(?:增加|提高|提升|增至)到?(.+?)[；。]?$")
TARGETS_HEADING = "二、建设目标"
FIXED_TIME = datetime(2021, 3, 1, 9, 0, 0, tzinfo=timezone.utc)


def heading_level(line: str) -> int | None:
    """Heading level from the numbering prefix; only short lines count (a numbered long line is a
    paragraph that happens to start with a number)."""
    if len(line) > 40:
        return None
    for level, pattern in LEVEL_PATTERNS:
        if pattern.match(line):
            return level
    return None


def set_east_asian_font(style, name: str, size: float | None = None, bold: bool | None = None):
    """python-docx only sets the Latin font; Chinese text needs w:eastAsia set as well."""
    style.font.name = name
    rpr = style.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        rfonts.set(qn(attr), name)
    if size is not None:
        style.font.size = Pt(size)
    if bold is not None:
        style.font.bold = bold


def setup_styles(doc) -> None:
    set_east_asian_font(doc.styles["Normal"], "仿宋", 14)
    set_east_asian_font(doc.styles["Title"], "方正小标宋简体", 20, bold=False)
    set_east_asian_font(doc.styles["Heading 1"], "黑体", 16, bold=False)
    set_east_asian_font(doc.styles["Heading 2"], "楷体", 16, bold=True)
    set_east_asian_font(doc.styles["Heading 3"], "仿宋", 14, bold=True)
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        doc.styles[name].font.color.rgb = None


def add_indicator_table(doc, rows: list[tuple[str, str, str, str]]) -> None:
    caption = doc.add_paragraph("表1  主要建设指标")
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    table = doc.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = ("序号", "指标", "2020年基数", "2023年目标")
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text


def build(lines: list[str]):
    doc = Document()
    setup_styles(doc)
    core = doc.core_properties
    core.title = lines[0]
    core.author = "四川青衣江职业技术学院"
    core.created = core.modified = FIXED_TIME.replace(tzinfo=None)
    core.last_modified_by = core.author
    core.revision = 1

    doc.add_heading(lines[0], level=0)
    in_targets = False
    pending: list[tuple[str, str, str, str]] = []

    def flush() -> None:
        if pending:
            add_indicator_table(doc, pending)
            pending.clear()

    for line in lines[1:]:
        level = heading_level(line)
        if level is not None:
            flush()
            if level == 1:
                in_targets = line.startswith(TARGETS_HEADING)
            doc.add_heading(line, level=level)
            continue
        m = INDICATOR.match(line) if in_targets else None
        if m:
            pending.append((m.group(1), m.group(2), m.group(3), m.group(4)))
            continue
        flush()
        para = doc.add_paragraph(line)
        para.paragraph_format.first_line_indent = Pt(28)
    flush()
    return doc


def save_reproducible(doc, out: Path) -> None:
    """Re-pack the zip with fixed timestamps and a stable member order."""
    buf = io.BytesIO()
    doc.save(buf)
    buf.seek(0)
    stamp = FIXED_TIME.timetuple()[:6]
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=stamp), data,
                         compress_type=zipfile.ZIP_DEFLATED)


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else DEFAULT_IN
    out = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    lines = [ln.strip() for ln in src.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        print(f"{src}: 文件为空 (empty file)", file=sys.stderr)
        return 2
    save_reproducible(build(lines), out)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
