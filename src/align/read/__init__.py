"""Read plan files into a :class:`~align.types.Document`, whatever format they arrived in.

One module per format (text: .txt/.md, docx, pdf, html); this module checks what every format
shares (exists, size limit, empty, known extension) and dispatches by suffix. Every problem a
user can cause is an :class:`~align.errors.InputError` with one readable line naming the file.

text (.txt/.md, encodings, wrapped lines), docx, pdf, html: one reader each; _common: building a
Document from pieces, the input errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .._text import human_size
from ..errors import InputError, InputWarning, shown_path
from ..fileio import NOT_FOUND, FileProblem, check_regular, read_limited
from ..types import Document
from ._common import fail

SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".md", ".markdown", ".docx", ".pdf", ".html", ".htm")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

__all__ = [
    "SUPPORTED_SUFFIXES",
    "DEFAULT_MAX_BYTES",
    "read_document",
    "read_bytes",
    "collect_inputs",
]

_NOT_FOUND = NOT_FOUND
_SUFFIX_HINTS = {
    ".doc": None,  # filled from docx.LEGACY_MESSAGE
    ".wps": "WPS 文字文件请另存为 .docx 后再试 (save WPS files as .docx)",
    ".rtf": "RTF 文件请另存为 .docx 后再试 (save RTF files as .docx)",
    ".odt": "ODT 文件请另存为 .docx 后再试 (save ODT files as .docx)",
    ".xlsx": "表格文件不是规划文本 (spreadsheets are not supported)",
    ".pptx": "演示文稿请导出为 PDF 后再试 (export presentations as PDF)",
}


def _suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return suffix
    if suffix == ".doc":
        from .docx import LEGACY_MESSAGE

        raise fail(name, LEGACY_MESSAGE)
    supported = " ".join(s for s in SUPPORTED_SUFFIXES if s not in (".markdown", ".htm"))
    hint = _SUFFIX_HINTS.get(suffix)
    what = f"“{suffix}”" if suffix else "（无扩展名）"
    msg = f"不支持的文件类型{what}，支持 {supported} (unsupported file type)"
    raise fail(name, f"{msg}; {hint}" if hint else msg)


def _size(n: float) -> str:
    return human_size(n, largest="MB")  # a limit of 2048 MB reads as set


def _too_large(name: str, size: int, max_bytes: int) -> InputError:
    return fail(name, f"文件过大（{_size(size)}，上限 {_size(max_bytes)}）(file too large)")


def read_document(
    path: str | Path, *, encoding: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Document:
    """Read one plan file. ``encoding`` forces the text encoding of .txt/.md/.html files;
    ``max_bytes`` refuses larger files, from ``stat`` and again while reading. Only regular
    files are read (a FIFO or a device is refused, never opened). Raises InputError."""
    shown = str(path)
    try:
        check_regular(path)
    except FileProblem as e:
        raise fail(shown, e.reason) from None
    _suffix(shown)
    try:
        data = read_limited(path, max_bytes)
    except FileProblem as e:
        if e.too_large:
            if e.size is None:
                raise fail(
                    shown, f"文件过大（读取时超过上限 {_size(max_bytes)}）(file too large)"
                ) from None
            raise _too_large(shown, e.size, max_bytes) from None
        raise fail(shown, e.reason) from None
    return read_bytes(data, shown, encoding=encoding, max_bytes=max_bytes)


def read_bytes(
    data: bytes, name: str, *, encoding: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Document:
    """Read a plan from memory (web uploads). ``name`` supplies the suffix and the path shown."""
    suffix = _suffix(name)
    if len(data) > max_bytes:
        raise _too_large(name, len(data), max_bytes)
    if not data:
        raise fail(name, "文件为空 (empty file)")
    if suffix in (".txt", ".md", ".markdown"):
        from .text import read_md, read_txt

        reader = read_txt if suffix == ".txt" else read_md
        return reader(data, name, encoding=encoding)
    if suffix == ".docx":
        from .docx import read_docx

        return read_docx(data, name, max_bytes=max_bytes)
    if suffix == ".pdf":
        from .pdf import read_pdf

        return read_pdf(data, name)
    from .html import read_html

    return read_html(data, name, encoding=encoding)


def collect_inputs(paths: Sequence[str | Path]) -> tuple[list[Path], list[InputError]]:
    """Files to read: files as given (an unsupported one still goes through, so reading it
    reports why), directories expanded recursively to supported files in sorted order, hidden
    entries and Word lock files (``~$x.docx``) skipped. A missing path or a directory without
    plans becomes an error entry; the other paths are still returned. Files a folder holds that
    no reader handles (``.doc``, ``.xlsx``…) are named in one :class:`InputWarning` per folder."""
    files: list[Path] = []
    errors: list[InputError] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found: list[Path] = []
            skipped: list[Path] = []
            for f in p.rglob("*"):
                rel = f.relative_to(p)
                if f.name.startswith("~$") or any(part.startswith(".") for part in rel.parts):
                    continue
                if f.is_dir():
                    continue
                if f.suffix.lower() in SUPPORTED_SUFFIXES:
                    found.append(f)  # FIFOs, devices, broken links: reading says why
                else:
                    skipped.append(rel)
            found.sort(key=lambda f: f.as_posix())
            skipped.sort(key=lambda f: f.as_posix())
            if not found:
                supported = " ".join(
                    s for s in SUPPORTED_SUFFIXES if s not in (".markdown", ".htm")
                )
                also = f"；{_skipped_text(skipped)}" if skipped else ""
                errors.append(
                    InputError(
                        f"目录中没有可读的规划文件（支持 {supported}）(no plan files in directory)"
                        + also,
                        path=str(raw),
                    )
                )
            elif skipped:
                import warnings

                warnings.warn(InputWarning(_skipped_text(skipped), path=str(raw)), stacklevel=2)
            files.extend(found)
        elif p.exists() or p.is_symlink():
            files.append(p)  # a broken link or a loop: reading it gives the real reason
        else:
            errors.append(InputError(_NOT_FOUND, path=str(raw)))
    return files, errors


_MAX_LISTED = 10


def _skipped_text(skipped: list[Path]) -> str:
    names = [shown_path(f.as_posix()) for f in skipped[:_MAX_LISTED]]
    more = f" 等 {len(skipped)} 个" if len(skipped) > _MAX_LISTED else ""
    return (
        f"跳过 {len(skipped)} 个不支持的文件 (skipped unsupported files)："
        + "、".join(names)
        + more
    )
