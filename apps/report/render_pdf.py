"""The PDF (fpdf2): summary, charts, then every table; the CJK font embedded."""

from __future__ import annotations

import io

from fpdf import FPDF
from fpdf.fonts import FontFace

from apps.report import tables
from apps.report.charts import Chart
from apps.report.fonts import find_cjk_font
from apps.report.model import MonthlyReport



def render_pdf(rep: MonthlyReport, charts: list[Chart]) -> bytes:
    font = find_cjk_font()
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("cjk", "", str(font.path), collection_font_number=font.index)
    pdf.set_title(rep.title)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, rep.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.cell(0, 6, f"统计截至 {rep.as_of:%Y-%m-%d %H:%M:%S}（{rep.timezone}）", new_x="LMARGIN", new_y="NEXT")
    all_t = tables.all_tables(rep)
    _table(pdf, all_t[0])
    if charts:
        pdf.add_page()
        x0, y0, w = pdf.l_margin, pdf.get_y(), 135
        for i, c in enumerate(charts[:4]):
            pdf.image(io.BytesIO(c.png), x=x0 + (i % 2) * (w + 5), y=y0 + (i // 2) * 92, w=w, h=88, keep_aspect_ratio=True)
    for t in all_t[1:]:
        pdf.add_page()
        _table(pdf, t)
    return bytes(pdf.output())


def _table(pdf: FPDF, t: tables.Table) -> None:
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 8, t.title, new_x="LMARGIN", new_y="NEXT")
    size = 6.5 if len(t.headers) > 10 else 8
    pdf.set_font("cjk", size=size)
    rows = tables.text_rows(t) or [["无"] + [""] * (len(t.headers) - 1)]
    aligns = ["RIGHT" if k in ("count", "rate", "score", "days") else "LEFT" for k in t.kinds]
    widths = [max(len(h), *(len(r[i]) for r in rows[:200])) + 2 for i, h in enumerate(t.headers)]
    with pdf.table(col_widths=widths, text_align=aligns, line_height=size * 0.55,
                   headings_style=FontFace(emphasis="NONE", fill_color=(221, 235, 247)), first_row_as_headings=True, repeat_headings=1) as tbl:
        hr = tbl.row()
        for h in t.headers:
            hr.cell(h)
        for r in rows:
            row = tbl.row()
            for c in r:
                row.cell(c)
