"""The report files open and hold the report's figures: xlsx read back with openpyxl, the PDF
rendered with pdftoppm and its text extracted with pdftotext, the HTML, JSON and CSV parsed."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.domain.directory import Directory
from apps.report.export import write_files
from apps.report.fonts import FontMissingError, find_cjk_font
from apps.report.model import MonthlyReport
from apps.report.sample import generate
from haocha.settings import PACKAGE_DATA
from tests.support.sample_store import sample_report

AS_OF = datetime(2021, 6, 3, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def _font_or_skip():
    try:
        return find_cjk_font()
    except FontMissingError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    _font_or_skip()
    directory = Directory.load(PACKAGE_DATA / "directory.json")
    cal = ChineseWorkingCalendar()
    sample = generate(directory, cal, n=500, seed=23)
    rep = sample_report(tmp_path_factory.mktemp("chdb"), "haocha_files", sample, AS_OF, directory, cal)
    out = tmp_path_factory.mktemp("out")
    paths = {p.suffix[1:]: p for p in write_files(rep, ["json", "csv", "xlsx", "html", "pdf"], out)}
    return rep, paths


def test_xlsx_sheets_and_figures(files):
    rep, paths = files
    wb = load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["汇总", "部门", "窗口", "排名（后进）", "未办结及超期工单", "跨月办结"]
    ws = wb["部门"]
    headers = [c.value for c in ws[2]]
    assert headers[:4] == ["部门编码", "部门", "评价数", "好评率"] and "差评整改率" in headers
    rows = {r[0]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    for d in [*rep.departments, rep.totals]:
        row = rows[d.id]
        assert row[headers.index("评价数")] == d.reviews
        assert row[headers.index("差评数")] == d.bad_count
        assert row[headers.index("差评整改率")] == pytest.approx(d.rectification_rate) if d.rectification_rate is not None \
            else row[headers.index("差评整改率")] is None
    ws = wb["未办结及超期工单"]
    listed = [r[1] for r in ws.iter_rows(min_row=3, values_only=True)]
    assert listed == [o.review_id for o in rep.open_tickets]
    assert len(list(wb["跨月办结"].iter_rows(min_row=3))) == len(rep.carry_over)
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["差评整改率"] == f"{rep.totals.rectification_rate * 100:.1f}%"


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils missing: run deploy/install-fonts.sh")
def test_pdf_pages_text_and_charts(files, tmp_path):
    rep, paths = files
    text = subprocess.run(["pdftotext", "-layout", str(paths["pdf"]), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "差评整改率月报" in text and "未办结及超期工单" in text and "跨月办结" in text
    assert f"{rep.totals.rectification_rate * 100:.1f}%" in text
    assert rep.departments[0].name in text
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(paths["pdf"]), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) >= 7  # summary, charts, five tables
    from matplotlib.image import imread

    charts = imread(pages[1])  # the charts page: coloured bars, not a blank page
    rgb = charts[..., :3]
    coloured = ((rgb.max(axis=2) - rgb.min(axis=2)) > 0.2).mean()
    assert coloured > 0.02, coloured
    for p in pages:
        assert imread(p)[..., :3].std() > 0.01  # no blank page


def test_html_json_csv(files):
    rep, paths = files
    page = paths["html"].read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 3 and "差评整改率" in page and rep.departments[0].name in page
    back = MonthlyReport.model_validate_json(paths["json"].read_bytes())
    assert back == rep
    rows = list(csv.reader(io.StringIO(paths["csv"].read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["范围", "编码", "名称"]
    total = next(r for r in rows if r[0] == "合计")
    assert int(total[5]) == rep.totals.reviews
    assert len(rows) == 1 + 1 + len(rep.departments) + len(rep.windows)
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["month"] == "2021-05"


def test_missing_font_is_a_clear_error(monkeypatch):
    find_cjk_font.cache_clear()
    monkeypatch.setenv("HAOCHA_CJK_FONT", "/nonexistent/font.ttc")
    try:
        with pytest.raises(FontMissingError, match="install-fonts.sh"):
            find_cjk_font()
    finally:
        find_cjk_font.cache_clear()
