"""A standalone HTML page: tables and the charts inlined (base64 PNG), no external resources."""

from __future__ import annotations

import base64
import html

from apps.report import tables
from apps.report.charts import Chart
from apps.report.model import MonthlyReport

CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:24px;color:#222}
h1{font-size:22px} h2{font-size:17px;border-left:4px solid #3b7dd8;padding-left:8px;margin-top:28px}
table{border-collapse:collapse;font-size:13px;margin:8px 0} th,td{border:1px solid #ccc;padding:3px 8px}
th{background:#ddebf7} td.n{text-align:right} .charts img{max-width:48%;margin:4px;vertical-align:top}
.meta{color:#666}
"""


def _table(t: tables.Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.headers)
    body = []
    for row in tables.text_rows(t):
        cells = "".join(
            f'<td class="n">{html.escape(c)}</td>' if k in ("count", "rate", "score", "days") else f"<td>{html.escape(c)}</td>"
            for c, k in zip(row, t.kinds))
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body = [f'<tr><td colspan="{len(t.headers)}">无</td></tr>']
    return f"<h2>{html.escape(t.title)}</h2><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(rep: MonthlyReport, charts: list[Chart]) -> bytes:
    imgs = "".join(
        f'<img alt="{html.escape(c.title)}" src="data:image/png;base64,{base64.b64encode(c.png).decode()}">'
        for c in charts)
    parts = [
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        f"<title>{html.escape(rep.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(rep.title)}</h1>",
        f'<p class="meta">统计截至 {rep.as_of:%Y-%m-%d %H:%M:%S}（{rep.timezone}）。口径见 docs/metrics.md。</p>',
        f'<div class="charts">{imgs}</div>',
        *[_table(t) for t in tables.all_tables(rep)],
        "</body></html>",
    ]
    return "\n".join(parts).encode("utf-8")
