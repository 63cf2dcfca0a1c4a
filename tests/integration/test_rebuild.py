"""`haocha rebuild` (sinks/rebuild.py) stores what the writer stores from the same log: every raw
row, each ticket at its newest snapshot, personal data masked, and every rollup the views fill,
whatever the batches; copies a crash leaves in the log (an older snapshot after a newer one
included) change nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from apps.report.sample import generate
from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.adapters.kafka import produce_all
from haocha.domain.directory import Directory
from haocha.domain.intake import dead_letter
from haocha.domain.tickets import fold
from haocha.settings import PACKAGE_DATA
from schemas import topics as t
from schemas.alerts import AlertAcknowledged, AlertEnvelope, SpikeDetected
from sinks import rows
from sinks.clickhouse import ClickHouseStore
from sinks.rebuild import read_topic, rebuild
from sinks.rollups import rollup_tables

pytestmark = pytest.mark.integration
PHONE = "13812345678"


def history_log() -> dict[str, list[tuple[bytes, bytes]]]:
    """(key, value) per history topic as the worker writes them, with the copies a crash leaves."""
    sample = generate(Directory.load(PACKAGE_DATA / "directory.json"), ChineseWorkingCalendar(), n=400, seed=3)
    reviews = [(c.review.hall_id.encode(), c.model_dump_json().encode()) for c in sample.reviews]
    first = sample.reviews[0]
    typed = first.model_copy(update={"review": first.review.model_copy(
        update={"review_id": "R-typed", "comment": f"请回电 {PHONE}", "item_name": f"事项{PHONE}"})})
    reviews.append((b"H-CY", typed.model_dump_json().encode()))
    events, states = [], []
    for tid, envs in sample.events.items():
        state = None
        for env in envs:
            state = fold(state, env)
            events.append((tid.encode(), env.model_dump_json().encode()))
            states.append((tid.encode(), state.model_dump_json().encode()))
    at = datetime(2021, 5, 6, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    spikes = [SpikeDetected(alert_id=f"H-CY-W0{i}@x", hall_id="H-CY", window_id=f"H-CY-W0{i}", department_id="D-SWJ",
                            window_start=at, window_end=at + timedelta(minutes=30), reviews=12, bad=5,
                            detected_at=at + timedelta(minutes=30)) for i in range(3)]
    ack = AlertAcknowledged(alert_id="H-CY-W01@x", window_id="H-CY-W01", by="sup-1", note="已约谈",
                            acknowledged_at=at + timedelta(hours=1))
    alerts = [(e.window_id.encode(), AlertEnvelope(event=e).model_dump_json().encode()) for e in (*spikes, ack)]
    letters = [(b"H-CY", dead_letter(b'{"review_id": "R%d", "phone": "%s", oops' % (i, PHONE.encode()),
                                     source="p.reviews.submitted", reason="not_json", detail="not JSON", key=b"H-CY",
                                     partition=0, offset=i, failed_at=at).model_dump_json().encode())
               for i in range(4)]
    # A crash replays batches: copies of reviews and events, and snapshots again after newer ones.
    return {t.REVIEWS_CLASSIFIED.name: reviews + reviews[::7], t.TICKET_EVENTS.name: events + events[::5],
            t.TICKET_STATE.name: states + states[::3], t.ALERTS.name: alerts + alerts[:1],
            t.DEAD_LETTERS.name: letters + letters[:2]}


async def written_the_writers_way(s, store: ClickHouseStore) -> dict[str, int]:
    written = {}
    for topic in rows.HISTORY:
        written[topic.topic] = 0
        async for msgs in read_topic(s, topic.topic, batch=60):
            written[topic.topic] += topic.write(store, topic.parse(msgs))
    return written


def table_rows(store: ClickHouseStore, table: str) -> list[tuple]:
    """A table's content whatever the parts: summed per key where the engine sums, newest per
    ticket in `tickets`; rows that sum to nothing dropped (a change and its undo in one insert
    leave no row, in two inserts two)."""
    cols = store.query("SELECT name, type FROM system.columns WHERE database = %(db)s AND table = %(t)s "
                       "ORDER BY position", {"db": store.db, "t": table})
    sums = [n for n, ty in cols if ty.startswith("SimpleAggregateFunction")]
    keys = [n for n, ty in cols if n not in sums]
    if table == "tickets":
        return store.query("SELECT * FROM {db}.tickets FINAL ORDER BY ticket_id")
    if not sums:
        return store.query(f"SELECT * FROM {{db}}.{table} ORDER BY {', '.join(keys)}")
    totals = ", ".join(f"sum({n})" for n in sums)
    return store.query(f"SELECT {', '.join(keys)}, {totals} FROM {{db}}.{table} GROUP BY {', '.join(keys)} "
                       f"HAVING {' OR '.join(f'sum({n}) != 0' for n in sums)} ORDER BY {', '.join(keys)}")


def test_the_rebuild_stores_what_the_writer_stores(make_settings, tmp_path):
    s = make_settings(partitions=3)
    log = history_log()
    for name, records in log.items():
        asyncio.run(produce_all(s, s.topic(name), records))
    dsn = f"chdb://{tmp_path / 'chdb'}"
    writer, rebuilt = ClickHouseStore(dsn, "haocha_writer"), ClickHouseStore(dsn, "haocha_rebuilt")
    try:
        writer.migrate()
        rebuilt.migrate()
        by_writer = asyncio.run(written_the_writers_way(s, writer))
        written = asyncio.run(rebuild(s, rebuilt, batch=70))

        tables = ["reviews", "ticket_events", "tickets", "alerts", "alert_acks", "dead_letters", *rollup_tables()]
        for table in tables:
            assert table_rows(rebuilt, table) == table_rows(writer, table), table
        snapshots = written.pop(t.TICKET_STATE.name)
        assert len({k for k, _ in log[t.TICKET_STATE.name]}) <= snapshots < by_writer.pop(t.TICKET_STATE.name)
        assert written == by_writer
        (comment, item), = rebuilt.query("SELECT comment, item_name FROM {db}.reviews WHERE review_id = 'R-typed'")
        assert (comment, item) == ("请回电 138****5678", "事项138****5678")
        assert rebuilt.query("SELECT count() FROM {db}.ticket_events WHERE match(payload, '1[3-9][0-9]{9}')"
                             ) == [(0,)]
    finally:
        writer.close()
        rebuilt.close()
