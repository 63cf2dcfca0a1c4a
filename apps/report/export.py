"""Writes the report in the requested formats to a directory; returns the files written."""

from __future__ import annotations

from pathlib import Path

from apps.report.model import MonthlyReport

FORMATS = ("table", "json", "csv", "xlsx", "html", "pdf")
FILE_FORMATS = ("json", "csv", "xlsx", "html", "pdf")


def write_files(rep: MonthlyReport, formats: list[str], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"haocha-report-{rep.month}"
    written, charts = [], None

    def get_charts():
        nonlocal charts
        if charts is None:
            from apps.report.charts import render_charts

            charts = render_charts(rep)
        return charts

    for f in formats:
        if f == "json":
            from apps.report.render_data import render_json as r

            data = r(rep)
        elif f == "csv":
            from apps.report.render_data import render_csv as r

            data = r(rep)
        elif f == "xlsx":
            from apps.report.render_xlsx import render_xlsx

            data = render_xlsx(rep)
        elif f == "html":
            from apps.report.render_html import render_html

            data = render_html(rep, get_charts())
        elif f == "pdf":
            from apps.report.render_pdf import render_pdf

            data = render_pdf(rep, get_charts())
        else:
            continue
        path = stem.with_suffix(f".{f}")
        path.write_bytes(data)
        written.append(path)
    return written
