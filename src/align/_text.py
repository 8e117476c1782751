"""Small text helpers every layer uses: cutting a line with "…", display width, file sizes."""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"


def truncate(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` characters, the last one "…" when anything was cut."""
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def one_line(text: str) -> str:
    """Whitespace runs (newlines included) as single spaces."""
    return " ".join(text.split())


def display_width(s: str) -> int:
    """Columns ``s`` takes in a monospaced view: CJK and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def pad(s: str, width: int) -> str:
    """``s`` padded with spaces to ``width`` display columns."""
    return s + " " * max(0, width - display_width(s))


MB = 1024 * 1024


def megabytes(mb: float) -> int:
    """``--max-size``-style megabytes as bytes."""
    return int(mb * MB)


_UNITS = ("B", "KB", "MB", "GB")


def human_size(n: float, *, trim: bool = True, largest: str = "GB") -> str:
    """1536 -> "1.5 KB", 52428800 -> "50 MB" (``trim=False``: "50.0 MB"); bytes as a whole
    number, ``largest`` the largest unit."""
    size = float(n)
    for unit in _UNITS:
        if size < 1024 or unit == largest:
            break
        size /= 1024
    if unit == "B":
        return f"{size:.0f} B"
    shown = f"{size:.1f}"
    return (shown.removesuffix(".0") if trim else shown) + f" {unit}"
