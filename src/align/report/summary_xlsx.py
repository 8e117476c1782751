"""``summary.xlsx`` (openpyxl): a sheet of plans x tasks a reviewer can sort, filter and annotate,
and a sheet of tasks with the share of plans that cover, partly cover or miss each one.

Status cells carry their colour as a cell fill (not conditional formatting), so the colours
move with the rows when a reviewer sorts; every text cell is stored as text, never as a formula.
"""

from __future__ import annotations

import io
from typing import Any

from ._summary import TASK_SHEET_HEAD, plan_cells, plan_header, status_of_label, task_rows
from .overview import Overview

FILLS = {"covered": "DAFBE1", "partial": "FFF8C5", "missing": "FFEBE9"}
FONTS = {"covered": "1A7F37", "partial": "9A6700", "missing": "CF222E"}


class XlsxSummary:
    name = "xlsx"
    filename = "summary.xlsx"

    def render(self, ov: Overview) -> bytes:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font, PatternFill
        from openpyxl.utils import get_column_letter

        wb = Workbook()
        ws = wb.active
        ws.title = "规划 plans"
        head = plan_header(ov)
        bold = Font(bold=True)
        header_fill = PatternFill("solid", fgColor="F6F8FA")
        fills = {k: PatternFill("solid", fgColor=v) for k, v in FILLS.items()}
        fonts = {k: Font(color=v, bold=True) for k, v in FONTS.items()}
        n_sets, n_tasks = len(ov.sets), len(ov.tasks)
        share_cols = range(4, 4 + n_sets)
        status_cols = range(4 + n_sets, 4 + n_sets + n_tasks)
        score_cols = range(4 + n_sets + n_tasks, 4 + n_sets + 2 * n_tasks)
        err_col = len(head)

        for c, h in enumerate(head, 1):
            cell = _put(ws, 1, c, h)
            cell.font, cell.fill = bold, header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for r, p in enumerate(ov.plans, 2):
            for c, v in enumerate(plan_cells(ov, p), 1):
                cell = _put(ws, r, c, v)
                if c in share_cols and v is not None:
                    cell.number_format = "0%"
                elif c in status_cols and v:
                    st = status_of_label(v)
                    if st:
                        cell.fill, cell.font = fills[st], fonts[st]
                elif c in score_cols and v is not None:
                    cell.number_format = "0.00"
                elif c == err_col and v:
                    cell.font = Font(color=FONTS["missing"])
            if p.html:
                link = ws.cell(row=r, column=1)
                link.hyperlink = p.html
                link.font = Font(color="0969DA", underline="single")
        ws.freeze_panes = "B2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(head))}{max(1, len(ov.plans) + 1)}"
        widths = {1: 28, 2: 36, 3: 9, err_col: 60}
        for c in range(1, len(head) + 1):
            ws.column_dimensions[get_column_letter(c)].width = widths.get(
                c, 12 if c in share_cols else 14
            )
        ws.row_dimensions[1].height = 48

        wt = wb.create_sheet("任务 tasks")
        for c, h in enumerate(TASK_SHEET_HEAD, 1):
            cell = _put(wt, 1, c, h)
            cell.font, cell.fill = bold, header_fill
        for r, row in enumerate(task_rows(ov), 2):
            for c, v in enumerate(row, 1):
                cell = _put(wt, r, c, v)
                if c >= 7:
                    cell.number_format = "0%"
                    st = ("covered", "partial", "missing")[c - 7]
                    cell.font = Font(color=FONTS[st])
        wt.freeze_panes = "D2"
        wt.auto_filter.ref = f"A1:I{max(1, len(ov.tasks) + 1)}"
        for c, w in enumerate((12, 14, 40, 10, 10, 10, 12, 12, 12), 1):
            wt.column_dimensions[get_column_letter(c)].width = w

        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()


def _put(ws: Any, row: int, col: int, value: Any) -> Any:
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # a file named "=HYPERLINK(…)" stays text
    return cell
