"""Where a table or key sits in TOML text, so errors found after parsing can name a line.

tomllib gives no positions for a valid document, so this scans the text for ``[table]`` and
``[[array]]`` headers and ``key =`` lines; good enough to point a reader at the right line.
Policy files (``align.policy_validate``) and the project config (``align.gate.config``) both
use it.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]\s]+(?:\s*\.\s*[^\]\s]+)*)\s*\]\]?")
_PART = re.compile(r"\"[^\"]*\"|'[^']*'|[^.\s\"']+")
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _name(header: str) -> str:
    """``tool."align" . ci`` -> ``tool.align.ci``; a quoted part that is not a bare key (such as
    ``"a.b"``, one key with a dot) keeps its quotes, so it is not taken for a dotted name."""
    parts = _PART.findall(header)
    return ".".join(
        p[1:-1] if p[:1] in "\"'" and _BARE.fullmatch(p[1:-1]) else p for p in parts
    )


class TomlLines:
    """The header lines of a TOML text, and the lines of keys below them (1-based)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        # (1-based line, dotted header name) for every [table] / [[array]] header
        self.headers: list[tuple[int, str]] = []
        for i, raw in enumerate(self.lines, start=1):
            m = _HEADER.match(raw)
            if m:
                self.headers.append((i, _name(m.group(2))))

    def block(self, header_line: int) -> tuple[int, int]:
        """The lines from ``header_line`` to just before the next header."""
        later = [ln for ln, _ in self.headers if ln > header_line]
        return header_line, (later[0] - 1 if later else len(self.lines))

    def key_in(self, block: tuple[int, int], key: str) -> int | None:
        pat = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for ln in range(block[0], block[1] + 1):
            if pat.match(self.lines[ln - 1]):
                return ln
        return None

    def header(self, name: str, index: int = 0) -> int | None:
        """The line of the ``index``-th header called ``name``."""
        found = [ln for ln, n in self.headers if n == name]
        return found[index] if index < len(found) else None

    def line_of(self, table: str | None, key: str | None) -> int | None:
        """The line where ``key`` is set inside ``[table]`` (``None``: above every header), or
        where the table starts when ``key`` is None."""
        if key is None:
            return self.header(table) if table is not None else None
        if table is None:
            first = self.headers[0][0] if self.headers else len(self.lines) + 1
            return self.key_in((1, first - 1), key)
        for ln, name in self.headers:
            if name == table and (found := self.key_in(self.block(ln), key)):
                return found
        return None

    def line_of_id(self, id_: str) -> int | None:
        """The first ``id = "..."`` line that sets ``id_``."""
        pat = re.compile(rf"^\s*id\s*=\s*[\"']{re.escape(id_)}[\"']")
        for i, raw in enumerate(self.lines, start=1):
            if pat.match(raw):
                return i
        return None
