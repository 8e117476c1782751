"""Output formats, one module each (as pip-audit's ``_format/``).

Every format is a small class with ``name`` and ``format(reports) -> str``. Adding a format means
one new module and one line in ``FORMATS``. Modules are imported only when asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol

from ..errors import AlignError
from ..types import Report


class Formatter(Protocol):
    name: str

    def format(self, reports: Sequence[Report]) -> str: ...


# format name -> "module:Class" under align.report
FORMATS: dict[str, str] = {
    "table": "table:TableFormatter",
    "json": "json:JsonFormatter",
    "jsonl": "json:JsonlFormatter",
    "markdown": "markdown:MarkdownFormatter",
    "html": "html:HtmlFormatter",
}


def get_formatter(name: str, **options: object) -> Formatter:
    if name not in FORMATS:
        raise AlignError(
            f"未知的输出格式 {name!r}，可选：{', '.join(FORMATS)} (unknown format)"
        )
    mod, cls = FORMATS[name].split(":")
    module = importlib.import_module(f"{__name__}.{mod}")
    return getattr(module, cls)(**options)
