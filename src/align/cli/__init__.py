"""Command-line interface. Only parses options and wires the pipeline steps together.

Each command group lives in its own module and registers itself on the shared ``app``.
Heavy libraries (torch, sentence-transformers, docx, pdf) are imported inside command bodies,
so ``align --help`` stays instant.
"""

from __future__ import annotations

from . import cache, check, chunks, policies, score, serve  # noqa: F401  (registers commands)
from ._app import app


def main() -> None:
    app()
