"""The API's read side under hostile or heavy use: query parameters validated into JSON errors (never
a 500), an officer's monthly report without other departments' open tickets, and store reads that
are bounded, so /health and the stream agents' writes never wait behind a flood of queries."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from apps.api.app import ApiContext, build_app
from apps.api.insights import InsightsContext
from apps.api.reader import ClickHouseTicketReader
from apps.api.reads import StoreReads
from apps.report.model import MonthlyReport, Notes, ScopeRow, UnclosedTicket, metric_defs
from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.adapters.clock import FixedClock
from haocha.auth.bearer import Authenticator
from haocha.auth.users import UserFile
from haocha.domain.calendar import SHANGHAI
from haocha.domain.directory import Directory
from haocha.domain.metrics import Components
from haocha.settings import Settings
from sinks import alerts_read, tickets_read

NOW = datetime(2021, 5, 6, 9, 0, tzinfo=SHANGHAI)
SLOW = 0.05  # seconds one fake query takes in the store's thread


def open_ticket(department: str, n: int) -> UnclosedTicket:
    return UnclosedTicket(ticket_id=f"TK-{department}-{n}", review_id=f"{department}-{n}", department_id=department,
                      department_name=department, hall_id="H-CY", window_id="H-CY-W03", window_name="3号窗口",
                      rating=1, real_name=False, reasons=["态度差"], happened_at=NOW, received_at=NOW, opened_at=NOW,
                      resolve_due=None, stage="opened", stage_label="待处理", contacted=False, overdue=False,
                      escalated=False, working_days_open=1.0)


def report_with_open_tickets() -> MonthlyReport:
    c = Components(reviews=2, bad=2, real_name_bad=0)
    return MonthlyReport(
        title="2021年5月", month="2021-05", as_of=NOW, timezone="Asia/Shanghai", period_start=NOW, period_end=NOW,
        metrics=metric_defs(), totals=ScopeRow.of("total", "all", "合计", c),
        departments=[ScopeRow.of("department", "D-CZJ", "区财政局", c), ScopeRow.of("department", "D-SJJ", "市场监管", c)],
        windows=[], rankings=[], open_tickets=[open_ticket("D-CZJ", 1), open_ticket("D-SJJ", 2)], carry_over=[],
        notes=Notes(late_reviews=0, invalidated=0, open_tickets=2, overdue_tickets=0, carry_over=0))


class SlowStore:
    """Stands in for ClickHouse: every read takes SLOW seconds of the store's one thread."""

    def __init__(self):
        self.calls = 0

    def read(self, *args):
        self.calls += 1
        time.sleep(SLOW)


@pytest.fixture
async def api(tmp_path, monkeypatch):
    users = UserFile(tmp_path / "users.json")
    tokens = {"zhao": users.add("o-zhao", "officer", "D-CZJ"), "sun": users.add("m-sun", "manager")}
    store = SlowStore()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
    reads = StoreReads(executor, limit=2)

    def slow_list(store_, f):
        store_.read()
        return [], 0

    def slow_alerts(store_, *args):
        store_.read()
        return []

    monkeypatch.setattr(tickets_read, "list_tickets", slow_list)
    monkeypatch.setattr(tickets_read, "count_by_status", lambda store_, f: {})
    monkeypatch.setattr(alerts_read, "list_alerts", slow_alerts)
    monkeypatch.setattr("apps.report.monthly.build_monthly_report", lambda *a: report_with_open_tickets())

    async def publish_ack(env):
        pass

    s = Settings()
    insights = InsightsContext(run_store=reads.run, store=store, directory=Directory.load(s.directory_path),
                               calendar=ChineseWorkingCalendar(), clock=FixedClock(NOW), publish_ack=publish_ack)

    async def sweep(at):
        return {}

    ctx = ApiContext(auth=Authenticator(users, SecretStr("admin-token")), bus=None,
                     reader=ClickHouseTicketReader(store, reads), clock=FixedClock(NOW), local_state=lambda _: None,
                     sweep=sweep, insights=insights)
    client = TestClient(TestServer(build_app(ctx)))
    await client.start_server()
    client.h = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    client.store, client.executor = store, executor
    yield client
    await client.close()
    executor.shutdown(wait=True)


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=1e3", "open=maybe", "limit=99999999999999999999"])
async def test_bad_alert_parameters_are_json_errors_not_500(api, query):
    r = await api.get(f"/api/v1/alerts?{query}", headers=api.h["sun"])
    body = await r.json()
    assert r.status == 422 and body["code"] == "invalid", body
    assert query.split("=")[0] in body["error"]


@pytest.mark.parametrize("path", ["/api/v1/stats?from=yesterday&to=2021-06-01T00:00:00%2B08:00",
                                  "/api/v1/stats?from=2021-05-01T00:00:00%2B08:00&to=2021-06-01T00:00:00%2B08:00"
                                  "&scope=planet",
                                  "/api/v1/stats/heatmap?from=2021-05-01&to=2021-06-01",
                                  "/api/v1/reports/monthly?month=2021-13",
                                  "/api/v1/reports/monthly?month=2021-05&as_of=noon"])
async def test_bad_insight_parameters_are_json_errors(api, path):
    r = await api.get(path, headers=api.h["sun"])
    assert r.status == 422 and (await r.json())["code"] == "invalid"


async def test_an_officer_reads_only_the_own_departments_open_tickets(api):
    r = await api.get("/api/v1/reports/monthly?month=2021-05", headers=api.h["zhao"])
    assert r.status == 200
    rep = await r.json()
    assert [t["department_id"] for t in rep["open_tickets"]] == ["D-CZJ"]
    assert "D-SJJ-2" not in await r.text()
    manager = await (await api.get("/api/v1/reports/monthly?month=2021-05", headers=api.h["sun"])).json()
    assert sorted(t["department_id"] for t in manager["open_tickets"]) == ["D-CZJ", "D-SJJ"]


async def test_a_flood_of_reads_never_holds_up_health_or_the_agents_writes(api):
    loop = asyncio.get_running_loop()
    assert (await api.get("/api/v1/me", headers=api.h["sun"])).status == 200  # the token's check is cached
    flood = [asyncio.ensure_future(api.get("/api/v1/tickets", headers=api.h["sun"])) for _ in range(60)]
    flood += [asyncio.ensure_future(api.get("/api/v1/alerts", headers=api.h["sun"])) for _ in range(20)]
    await asyncio.sleep(0.3)  # the flood is in: its reads are running and queued

    t0 = time.monotonic()
    r = await api.get("/api/v1/health")
    health_s = time.monotonic() - t0
    assert r.status == 200 and health_s < 0.5, health_s

    # A sink agent writes through the same store thread: it waits for the reads in flight (at most
    # the limit), not for the whole flood (80 x SLOW = 4 s).
    t0 = time.monotonic()
    await loop.run_in_executor(api.executor, lambda: None)
    write_wait = time.monotonic() - t0
    assert write_wait < 4 * SLOW + 0.2, write_wait

    answers = await asyncio.gather(*flood)
    assert [a.status for a in answers] == [200] * 80, [await a.text() for a in answers if a.status != 200][:1]
    assert api.store.calls == 80
