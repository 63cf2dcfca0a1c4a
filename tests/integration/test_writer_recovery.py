"""A writer stopped between a table's insert and its views' inserts (streams/clickhouse_writer.py):
the raw rows stay, a replay stores nothing, so the rollups would miss them for good. The writer
finds its batch still pending at start and rebuilds the rollups from the raw tables: the report is
the one a store written without the crash gives."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from apps.report.monthly import build_monthly_report
from apps.report.sample import generate
from haocha.settings import Settings
from sinks.clickhouse import ClickHouseStore
from streams.clickhouse_writer import ClickHouseWriter, writer_id
from tests.integration.test_report_monthly import MONTH
from tests.integration.test_report_rollups import SH, base  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
T = datetime(2021, 6, 3, 9, 30, tzinfo=SH)


def _views(store) -> list[str]:
    return [r[0] for r in store.query("SELECT name FROM system.tables WHERE database = {db:String} "
                                      "AND engine = 'MaterializedView'", {"db": store.db})]


def _started(settings, store) -> None:
    """A writer's start: what it does when its partitions are first assigned."""
    with ThreadPoolExecutor(1) as executor:
        asyncio.run(ClickHouseWriter(settings, store, executor).assigned(set()))


def test_rollups_rebuilt_after_a_writer_stopped_mid_batch(base, tmp_path, caplog):  # noqa: F811
    directory, cal = base
    sample = generate(directory, cal, n=400, seed=31)
    settings = Settings(data_dir=tmp_path)
    store = ClickHouseStore(settings.dsn, settings.clickhouse_database, settings.timezone)
    try:
        store.migrate()
        store.write_reviews(sample.reviews)
        store.write_ticket_events(sample.all_events)
        live = build_monthly_report(store, MONTH, T, directory, cal).model_dump_json()
        rollups = store.query("SELECT granularity, sum(reviews), sum(bad) FROM {db}.review_rollups "
                              "GROUP BY granularity ORDER BY granularity")

        # The crash: the batch marked pending, its rows in the raw tables, its views' inserts lost.
        store.command(f"TRUNCATE TABLE {store.db}.reviews")
        store.command(f"TRUNCATE TABLE {store.db}.ticket_events")
        half = len(sample.reviews) // 2
        store.write_reviews(sample.reviews[:half])
        store.batch_started(writer_id(settings))
        views = _views(store)
        assert len(views) > 10
        for view in views:
            store.command(f"DROP VIEW {store.db}.{view}")
        store.write_reviews(sample.reviews[half:])
        store.write_ticket_events(sample.all_events)
        store.migrate()  # the views again, on rollups that lack the batch's rows
        assert build_monthly_report(store, MONTH, T, directory, cal).model_dump_json() != live

        with caplog.at_level(logging.WARNING, logger="streams.clickhouse_writer"):
            _started(settings, store)
        assert "rebuilding the report's rollups" in caplog.text
        assert f"rollups rebuilt from {len(sample.reviews)} reviews and {len(sample.all_events)} ticket events" \
            in caplog.text
        assert not store.batch_unfinished(writer_id(settings))
        assert build_monthly_report(store, MONTH, T, directory, cal).model_dump_json() == live
        assert store.query("SELECT granularity, sum(reviews), sum(bad) FROM {db}.review_rollups "
                           "GROUP BY granularity ORDER BY granularity") == rollups

        caplog.clear()  # a start after a batch that finished rebuilds nothing
        with caplog.at_level(logging.WARNING, logger="streams.clickhouse_writer"):
            _started(settings, store)
        assert "rebuild" not in caplog.text
    finally:
        store.close()
