"""``summary.csv``: one row per plan, UTF-8 with a BOM so that Excel shows the Chinese right."""

from __future__ import annotations

import csv
import io
from typing import Any

from ._summary import plan_cells, plan_header
from .overview import Overview

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(v: Any) -> Any:
    """Text that a spreadsheet would run as a formula (a file named ``=cmd…``) is quoted."""
    if v is None:
        return ""
    if isinstance(v, float):
        return round(v, 4)
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


class CsvSummary:
    name = "csv"
    filename = "summary.csv"

    def render(self, ov: Overview) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(plan_header(ov))
        for p in ov.plans:
            w.writerow([_cell(v) for v in plan_cells(ov, p)])
        return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")
