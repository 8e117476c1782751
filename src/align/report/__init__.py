"""Output formats, one module each (as pip-audit's ``_format/``).

Every format is a small class with ``name`` and ``format(reports) -> str``. Adding a format means
one new module and one line in ``FORMATS``. Modules are imported only when asked for.

Score reports (``align score``): table, json (json and jsonl), markdown, html.
Batch overview (``align batch``): overview (the plans x tasks data), summary_csv, summary_xlsx,
overview_html; _summary holds the columns the two spreadsheets share.
Gate (``align check`` / ``align diff``): check_formats (registry and the text line), github,
junit, sarif, diff.
Other commands: explain (one task's ranked passages), chunks (``align chunks``), commitments
(``align targets``), policies (``align policies``).
Shared: _common (status words re-exported from align.vocab, previews, Markdown escaping), _wrap
(line breaking for Chinese in rich).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Protocol

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


# batch overview formats (``align batch``): each renders an Overview to the bytes of one file
SUMMARY_FORMATS: dict[str, str] = {
    "csv": "summary_csv:CsvSummary",
    "xlsx": "summary_xlsx:XlsxSummary",
    "html": "overview_html:OverviewHtml",
}


def load_formatter(registry: dict[str, str], name: str, what: str, **options: object) -> Any:
    """Import ``module:Class`` from ``registry`` only when asked, and instantiate it."""
    if name not in registry:
        raise AlignError(f"未知的{what} {name!r}，可选：{' | '.join(registry)} (unknown format)")
    mod, cls = registry[name].split(":")
    module = importlib.import_module(f"{__name__}.{mod}")
    return getattr(module, cls)(**options)


def get_formatter(name: str, **options: object) -> Formatter:
    return load_formatter(FORMATS, name, "输出格式", **options)


def get_summary_formatter(name: str) -> Any:
    return load_formatter(SUMMARY_FORMATS, name, "总览格式")
