"""The terminal table (CJK characters are two columns wide)."""

from __future__ import annotations

import unicodedata

from apps.report import tables
from apps.report.model import MonthlyReport


def width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def pad(s: str, w: int, right: bool = False) -> str:
    fill = " " * max(0, w - width(s))
    return fill + s if right else s + fill


def format_table(headers: list[str], rows: list[list[str]], numeric: list[bool] | None = None) -> str:
    numeric = numeric or [False] * len(headers)
    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = "  ".join(pad(h, w, n) for h, w, n in zip(headers, widths, numeric))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(pad(c, w, n) for c, w, n in zip(r, widths, numeric)) for r in rows]
    return "\n".join(out)


def render_table(t: tables.Table, limit: int | None = None) -> str:
    rows = tables.text_rows(t)
    more = len(rows) - limit if limit is not None and len(rows) > limit else 0
    rows = rows[:limit] if more else rows
    body = format_table(t.headers, rows, [k in ("count", "rate", "score", "days") for k in t.kinds])
    return f"== {t.title} ==\n{body}" + (f"\n… 另有 {more} 行（见导出文件）" if more else "")


def render_text(rep: MonthlyReport, limit: int = 30) -> str:
    parts = [rep.title, f"统计截至 {rep.as_of:%Y-%m-%d %H:%M:%S} ({rep.timezone})", ""]
    parts += [render_table(t, limit) + "\n" for t in tables.all_tables(rep)]
    return "\n".join(parts)
