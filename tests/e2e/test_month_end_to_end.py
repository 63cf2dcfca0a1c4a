"""A small month through the whole platform as its users drive it: terminals' reviews into Kafka,
officers working tickets over the HTTP API, a manager reading the report and alerts through the
worker, then `haocha rebuild` re-deriving ClickHouse from the log figure for figure."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import httpx
import orjson
import pytest

from haocha.adapters.kafka import produce_all
from apps.bootstrap import build_deps
from apps.report.monthly import build_monthly_report
from apps.simulate.officers import list_all_tickets, work_tickets
from apps.simulate.pipeline import wait_caught_up
from apps.simulate.traffic import TrafficPlan, generate
from sinks.clickhouse import ClickHouseStore
from schemas.topics import REVIEWS_SUBMITTED

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
AS_OF = "2021-06-10T00:00:00+08:00"


def spike(window: str, hall: str, at: datetime) -> list[tuple[bytes, bytes]]:
    """Five reviews in ten minutes at one window, four of them bad: a spike."""
    out = []
    for i, rating in enumerate([1, 2, 5, 1, 2]):
        t = at + timedelta(minutes=2 * i)
        out.append((hall.encode(), orjson.dumps({
            "review_id": f"SPIKE-{i}", "case_no": f"CS-{i}", "channel": "pad", "hall_id": hall, "window_id": window,
            "rating": rating, "happened_at": t.isoformat(), "received_at": (t + timedelta(seconds=3)).isoformat(),
            "terminal_id": f"T-{window}"})))
    return out


def assert_same_report(report, expected: dict) -> None:
    got = orjson.loads(report.model_dump_json())
    for section in ("totals", "departments", "windows", "open_tickets", "carry_over", "notes"):
        assert got[section] == expected[section], section  # names the first section that differs
    assert got == expected


def test_a_month_through_the_platform(make_settings, start_worker):
    s = make_settings()
    deps = build_deps(s)
    subs = list(generate(TrafficPlan(reviews=2500, seed=5), deps.directory, deps.calendar))
    spike_at = datetime(2021, 5, 12, 10, 1, tzinfo=timezone(timedelta(hours=8)))
    w = start_worker(s).wait_ready()
    asyncio.run(produce_all(s, s.topic(REVIEWS_SUBMITTED.name),
                            [(x.key, x.value) for x in subs] + spike("H-CY-W05", "H-CY", spike_at)))
    asyncio.run(wait_caught_up(s))
    token, url = w.admin_token, w.url
    admin = {"Authorization": f"Bearer {token}"}

    async def officers():
        await asyncio.sleep(2.5)  # the queue is read from ClickHouse, which the sink fills in batches
        tickets = await list_all_tickets(url, token)
        stats = await work_tickets(url, token, tickets, seed=3, not_after=datetime.fromisoformat(AS_OF))
        await wait_caught_up(s)
        return tickets, stats

    tickets, stats = asyncio.run(officers())
    assert len(tickets) > 50 and stats["accepted"] > 3 * len(tickets) and stats["refused"] == 0

    # A manager reads the report through the worker (it owns the embedded store).
    manager = w.add_user("wang-manager", "manager")
    rep = httpx.get(f"{url}/api/v1/reports/monthly", params={"month": "2021-05", "as_of": AS_OF},
                    headers=manager, timeout=120)
    assert rep.status_code == 200, rep.text
    via_api = rep.json()
    stats_resp = httpx.get(f"{url}/api/v1/stats", params={"scope": "department", "granularity": "month",
                                                          "from": "2021-05-01T00:00:00+08:00",
                                                          "to": "2021-06-01T00:00:00+08:00"}, headers=manager)
    assert stats_resp.status_code == 200 and stats_resp.json()["rows"]

    # The spike raised one alert at that window; a supervisor acknowledges it.
    alerts = httpx.get(f"{url}/api/v1/alerts", headers=admin).json()["alerts"]
    spiked = [a for a in alerts if a["window_id"] == "H-CY-W05" and 2 * a["bad"] >= a["reviews"] >= 4]
    assert spiked, alerts
    ack = httpx.post(f"{url}/api/v1/alerts/{spiked[0]['alert_id']}/ack", json={"note": "已约谈"}, headers=admin)
    assert ack.status_code == 202
    assert httpx.post(f"{url}/api/v1/alerts/{spiked[0]['alert_id']}/ack", headers=manager).status_code == 403
    asyncio.run(wait_caught_up(s))
    w.terminate()

    # The same figures from the store opened directly, now that the worker is gone.
    store = ClickHouseStore(s.dsn, s.clickhouse_database)
    try:
        direct = build_monthly_report(store, "2021-05", AS_OF, deps.directory, deps.calendar)
        acks = store.query("SELECT count() FROM {db}.alert_acks")[0][0]
    finally:
        store.close()
    assert_same_report(direct, via_api)
    assert acks == 1
    totals = via_api["totals"]
    firsts = sum(1 for x in subs if x.kind in ("review", "late"))
    assert totals["reviews"] <= firsts + 5  # upheld appeals remove a few; the spike adds five
    assert 0 < totals["rectification_rate"] < 1  # some tickets were left open on purpose

    # Rebuild ClickHouse from the Kafka log: the same figures.
    env = {**os.environ, **s.as_env()}
    done = subprocess.run([sys.executable, "-m", "apps.cli", "rebuild", "--compare"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DIFFERENT" not in done.stdout
    store = ClickHouseStore(s.dsn, f"{s.clickhouse_database}_rebuild")
    try:
        rebuilt = build_monthly_report(store, "2021-05", AS_OF, deps.directory, deps.calendar)
    finally:
        store.close()
    assert_same_report(rebuilt, via_api)
