"""`haocha report`: asks the worker's API first (with the bearer token), falls back to the store,
and says clearly when the store is locked."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

import pytest

from apps import cli
from apps.commands import report as report_cmd
from haocha.domain.metrics import Components
from apps.report.model import MonthlyReport, Notes, ScopeRow, metric_defs
from haocha.settings import Settings

SH = ZoneInfo("Asia/Shanghai")


def tiny_report() -> MonthlyReport:
    c = Components(reviews=4, good=3, bad=1, score_sum=300, real_name_bad=1, closed=1, closed_on_time=1,
                   contacted=1, days_to_close_sum=1.5)
    return MonthlyReport(
        title="2021年5月 测试月报", month="2021-05", as_of=datetime(2021, 6, 1, tzinfo=SH), timezone="Asia/Shanghai",
        period_start=datetime(2021, 5, 1, tzinfo=SH), period_end=datetime(2021, 6, 1, tzinfo=SH),
        metrics=metric_defs(), totals=ScopeRow.of("total", "all", "合计", c),
        departments=[ScopeRow.of("department", "D-X", "区测试局", c)], windows=[], rankings=[], open_tickets=[],
        carry_over=[], notes=Notes(late_reviews=0, invalidated=0, open_tickets=0, overdue_tickets=0, carry_over=0),
    )


@pytest.fixture
def worker(monkeypatch):
    seen = {}
    body = tiny_report().model_dump_json().encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen["path"], seen["auth"] = self.path, self.headers.get("Authorization")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setattr(report_cmd.settings_mod, "load", lambda: Settings(api_url=f"http://127.0.0.1:{srv.server_port}"))
    yield seen
    srv.shutdown()


def test_renders_the_workers_json(worker, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HAOCHA_API_TOKEN", "s3cret")
    rc = cli.main(["report", "monthly", "--month", "2021-05", "--as-of", "2021-06-01T00:00:00+08:00",
                   "--format", "table,json", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "区测试局" in out and "100.0%" in out
    assert worker["path"].startswith("/api/v1/reports/monthly?month=2021-05&as_of=2021-06-01T00%3A00%3A00%2B08%3A00")
    assert worker["auth"] == "Bearer s3cret"
    assert json.loads((tmp_path / "haocha-report-2021-05.json").read_text())["totals"]["reviews"] == 4


def test_locked_store_is_said_clearly(monkeypatch, capsys):
    from sinks import clickhouse

    monkeypatch.setattr(report_cmd.settings_mod, "load", lambda: Settings(api_url="http://127.0.0.1:9"))

    def locked(*a, **k):
        raise clickhouse.StoreLockedError("the embedded store /x is open in another process (a running worker?).")

    monkeypatch.setattr(clickhouse, "ClickHouseStore", locked)
    rc = cli.main(["report", "monthly", "--month", "2021-05", "--format", "table"])
    err = capsys.readouterr().err
    assert rc == 1 and "store is locked" in err and "did not answer" in err


def test_bad_arguments(capsys):
    assert cli.main(["report", "monthly", "--month", "2021-5x", "--format", "table"]) == 1
    assert "YYYY-MM" in capsys.readouterr().err
    assert cli.main(["report", "monthly", "--month", "2021-05", "--format", "docx"]) == 1
