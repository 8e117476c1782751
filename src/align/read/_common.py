"""Helpers shared by the format readers: building a Document from pieces, and input errors."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from ..errors import InputError
from ..types import Block, Document

Kind = Literal["heading", "paragraph", "table"]

# a line that ends its paragraph: a sentence end or a colon, before closing quotes or brackets
ENDS_PARAGRAPH = re.compile(r"[。！？；!?;：:][”’」』）)】》\"']*$")


@dataclass
class Piece:
    """A block before it has offsets: readers that build Document.text themselves (docx, pdf,
    html) collect these and let :func:`assemble` lay them out."""

    text: str
    kind: Kind = "paragraph"
    level: int | None = None
    page: int | None = None
    sep: str = "\n"  # what goes before this piece in Document.text (ignored for the first)


def assemble(
    pieces: list[Piece], *, path: str, fmt: str, raw: bytes, encoding: str | None = None
) -> Document:
    """Join pieces into Document.text (each stripped, empty ones dropped) with exact offsets."""
    parts: list[str] = []
    blocks: list[Block] = []
    pos = 0
    for p in pieces:
        t = p.text.strip()
        if not t:
            continue
        if blocks:
            parts.append(p.sep)
            pos += len(p.sep)
        parts.append(t)
        blocks.append(Block(t, pos, pos + len(t), kind=p.kind, level=p.level, page=p.page))
        pos += len(t)
    return Document(
        path=path,
        text="".join(parts),
        blocks=tuple(blocks),
        format=fmt,
        sha256=sha256(raw),
        encoding=encoding,
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fail(path: str, message: str) -> InputError:
    """``InputError`` for ``path`` (call sites ``raise fail(...)`` so the flow stays visible)."""
    return InputError(message, path=path)


def no_text(path: str, what: str) -> InputError:
    return fail(path, f"{what}中没有可读的文字 (no readable text)")


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
