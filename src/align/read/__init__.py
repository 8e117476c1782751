"""Read plan files into a :class:`~align.types.Document`, whatever format they arrived in.

One module per format (text: .txt/.md, docx, pdf, html); this module checks what every format
shares (exists, size limit, empty, known extension) and dispatches by suffix. Every problem a
user can cause is an :class:`~align.errors.InputError` with one readable line naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError
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

_NOT_FOUND = "文件不存在 (file not found)"
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


def _human(n: float) -> str:
    """1536 -> "1.5 KB", 52428800 -> "50 MB"."""
    if n < 1024:
        return f"{n:.0f} B"
    n /= 1024
    unit = "KB"
    if n >= 1024:
        n /= 1024
        unit = "MB"
    return f"{n:.1f}".removesuffix(".0") + f" {unit}"


def _too_large(name: str, size: int, max_bytes: int) -> InputError:
    return fail(name, f"文件过大（{_human(size)}，上限 {_human(max_bytes)}）(file too large)")


def read_document(
    path: str | Path, *, encoding: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Document:
    """Read one plan file. ``encoding`` forces the text encoding of .txt/.md/.html files;
    ``max_bytes`` refuses larger files before reading them. Raises InputError."""
    shown = str(path)
    p = Path(path)
    if not p.exists():
        raise fail(shown, _NOT_FOUND)
    if p.is_dir():
        raise fail(shown, "这是目录而不是文件 (is a directory)")
    _suffix(shown)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise _too_large(shown, size, max_bytes)
        data = p.read_bytes()
    except PermissionError:
        raise fail(shown, "没有读取该文件的权限 (permission denied)") from None
    except OSError as e:
        raise fail(shown, f"无法读取文件 (cannot read file: {e.strerror or e})") from None
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
    plans becomes an error entry; the other paths are still returned."""
    files: list[Path] = []
    errors: list[InputError] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                (
                    f
                    for f in p.rglob("*")
                    if f.suffix.lower() in SUPPORTED_SUFFIXES
                    and not f.name.startswith("~$")
                    and not any(part.startswith(".") for part in f.relative_to(p).parts)
                    and f.is_file()
                ),
                key=lambda f: f.as_posix(),
            )
            if not found:
                supported = " ".join(
                    s for s in SUPPORTED_SUFFIXES if s not in (".markdown", ".htm")
                )
                errors.append(
                    InputError(
                        f"目录中没有可读的规划文件（支持 {supported}）(no plan files in directory)",
                        path=str(raw),
                    )
                )
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            errors.append(InputError(_NOT_FOUND, path=str(raw)))
    return files, errors
