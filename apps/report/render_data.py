"""JSON (the whole report, docs/report.md) and CSV (one row per scope: total, departments, windows;
names that a spreadsheet would run as a formula are quoted)."""

from __future__ import annotations

import csv
import io

from haocha.domain.metrics import METRICS
from apps.report.cells import csv_text
from apps.report.model import MonthlyReport


def render_json(rep: MonthlyReport) -> bytes:
    return rep.model_dump_json(indent=2).encode("utf-8")


def render_csv(rep: MonthlyReport) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["范围", "编码", "名称", "大厅", "部门编码", *[m.label for m in METRICS]])
    scope = {"total": "合计", "department": "部门", "window": "窗口"}
    for r in [rep.totals, *rep.departments, *rep.windows]:
        w.writerow([scope[r.scope], *map(csv_text, (r.id, r.name, r.hall_id or "", r.department_id or "")),
                    *["" if getattr(r, m.key) is None else getattr(r, m.key) for m in METRICS]])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly
