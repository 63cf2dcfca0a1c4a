"""The monthly report's rollups (sinks/ticket_rollups.py) in the cases the sample alone does not
reach: a store whose rollups are filled after the fact (a new view on old data), and event times
that go back (a ticket event that occurred before an earlier version's)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.domain.directory import Directory
from apps.report.monthly import build_monthly_report
from apps.report.sample import generate
from haocha.settings import PACKAGE_DATA
from sinks.clickhouse import ClickHouseStore
from tests.integration.test_report_monthly import MONTH, check_report

SH = ZoneInfo("Asia/Shanghai")
REPORT_TABLES = (
    "review_receipt_rollups", "review_receipts", "bad_reviews", "ticket_rollup_state", "ticket_transitions",
    "ticket_rollups", "ticket_rollup_days", "ticket_rollup_dues", "ticket_event_facts", "ticket_event_index",
    "ticket_due_index", "ticket_rollup_skewed",
)


@pytest.fixture(scope="module")
def base():
    return Directory.load(PACKAGE_DATA / "directory.json"), ChineseWorkingCalendar()


def test_rollups_filled_after_the_fact_give_the_same_report(base, tmp_path):
    directory, cal = base
    sample = generate(directory, cal, n=400, seed=23)
    store = ClickHouseStore(f"chdb://{tmp_path}", "haocha_backfill")
    try:
        store.migrate()
        store.write_reviews(sample.reviews)
        store.write_ticket_events(sample.all_events)
        t = datetime(2021, 6, 3, 9, 30, tzinfo=SH)
        live = build_monthly_report(store, MONTH, t, directory, cal).model_dump_json()
        for name in REPORT_TABLES:  # as if the report's views were new on a store with history
            store.command(f"DROP VIEW IF EXISTS {store.db}.{name}_mv")
            store.command(f"DROP TABLE IF EXISTS {store.db}.{name}")
        store.migrate()
        assert build_monthly_report(store, MONTH, t, directory, cal).model_dump_json() == live
    finally:
        store.close()


def test_event_times_that_go_back(base, tmp_path):
    """A step recorded with an earlier time than the step before it (a client's clock): the
    report still folds every event occurred <= T, as plain Python does."""
    directory, cal = base
    sample = generate(directory, cal, n=400, seed=29)
    skewed = 0
    for tid, evs in sample.events.items():
        if len(evs) >= 4 and START <= evs[0].occurred_at < END and skewed < 10:
            last = evs[-1]
            evs[-1] = last.model_copy(update={"occurred_at": evs[-3].occurred_at - timedelta(minutes=7)})
            skewed += 1
    assert skewed == 10
    store = ClickHouseStore(f"chdb://{tmp_path}", "haocha_skew")
    try:
        store.migrate()
        store.write_reviews(sample.reviews)
        store.write_ticket_events(sample.all_events)
        for t in (datetime(2021, 5, 20, 12, 0, tzinfo=SH), datetime(2021, 5, 27, 16, 45, tzinfo=SH),
                  datetime(2021, 6, 3, 9, 30, tzinfo=SH), datetime(2021, 8, 1, tzinfo=SH)):
            check_report(store, sample, directory, cal, t)
    finally:
        store.close()


START, END = datetime(2021, 5, 1, tzinfo=SH), datetime(2021, 6, 1, tzinfo=SH)
