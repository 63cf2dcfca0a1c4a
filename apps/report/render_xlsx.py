"""The Excel workbook: one sheet per table, Chinese headers, numbers kept as numbers, text as text
(a string cell is never a formula, whatever it starts with)."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from apps.report import tables
from apps.report.cells import formula_like
from apps.report.model import MonthlyReport

NUMBER_FORMATS = {"rate": "0.0%", "score": "0.00", "days": "0.00", "count": "0", "time": "yyyy-mm-dd hh:mm"}
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def _cell(kind: str, v):
    if v is None:
        return None
    if kind == "time" and isinstance(v, datetime):
        return v.replace(tzinfo=None)  # local (Asia/Shanghai) wall time: Excel has no time zones
    if kind == "bool":
        return "是" if v else "否"
    return v


def _as_text(c) -> None:
    # openpyxl makes any string starting with "=" a formula; the quote prefix keeps risky text
    # text even when someone edits the cell in Excel.
    c.data_type = "s"
    if formula_like(c.value):
        c.quotePrefix = True


def render_xlsx(rep: MonthlyReport) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for t in tables.all_tables(rep):
        ws = wb.create_sheet(t.title)
        if t.key != "summary":
            ws.append([f"{rep.title}（统计截至 {rep.as_of:%Y-%m-%d %H:%M}）"])
            ws["A1"].font = Font(bold=True)
        ws.append(t.headers)
        hr = ws.max_row
        for c in ws[hr]:
            c.font, c.fill, c.alignment = Font(bold=True), HEADER_FILL, Alignment(wrap_text=True)
        for row in t.rows:
            ws.append([_cell(k, v) for k, v in zip(t.kinds, row)])
            for c, k in zip(ws[ws.max_row], t.kinds):
                if k in NUMBER_FORMATS:
                    c.number_format = NUMBER_FORMATS[k]
                if isinstance(c.value, str):
                    _as_text(c)
        ws.freeze_panes = ws.cell(row=hr + 1, column=1)
        for i, h in enumerate(t.headers, start=1):
            longest = max([len(str(h))] + [len(str(r[i - 1])) for r in t.rows[:200]])
            ws.column_dimensions[get_column_letter(i)].width = min(40, max(10, longest * 1.6))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
