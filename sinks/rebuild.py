"""Re-derive the ClickHouse history from the Kafka log.

The log holds every classified review, every ticket event and state snapshot, every alert and
dead letter, forever. Reading them from the start into an empty database, with the same
idempotent writes the worker uses, gives the same history figure for figure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiokafka import TopicPartition

from haocha.adapters import kafka
from haocha.settings import Settings
from sinks import rows
from sinks.clickhouse import ClickHouseStore
from sinks.sql import BAD

BATCH = 20_000


async def read_topic(settings: Settings, name: str, batch: int = BATCH) -> AsyncIterator[list]:
    """Every message of a topic (the spec's name, without the prefix) from the start to its end
    as it was when reading began, in batches of raw records (value, partition, offset)."""
    topic = settings.topic(name)
    consumer = kafka.consumer(settings, auto_offset_reset="earliest", max_poll_records=batch,
                              fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not tps:
            return
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            got = await consumer.getmany(timeout_ms=1000, max_records=batch)
            msgs = [m for tp, part in got.items() for m in part if m.offset < ends[tp]]
            if msgs:
                yield msgs
    finally:
        await consumer.stop()


async def rebuild(settings: Settings, store: ClickHouseStore, on_progress=None) -> dict[str, int]:
    """Replay every history topic into `store` (already migrated); returns rows written per topic.
    A batch is written (on a thread: the engine runs outside the GIL) while the next one is read,
    one at a time and in the log's order."""
    written: dict[str, int] = {}
    for history in rows.HISTORY:
        total, writing = 0, None
        try:
            async for msgs in read_topic(settings, history.topic):
                items = history.parse(msgs)
                if writing is not None:
                    total += await writing
                    if on_progress:
                        on_progress(history.topic, total)
                writing = asyncio.ensure_future(asyncio.to_thread(history.write, store, items))
            if writing is not None:
                total += await writing
                writing = None
        finally:
            if writing is not None:  # reading failed: the batch in flight still finishes
                await asyncio.gather(writing, return_exceptions=True)
        if on_progress:
            on_progress(history.topic, total)
        written[history.topic] = total
    return written


FIGURES = {
    "reviews": f"SELECT count(), countIf(counted), countIf(counted AND {BAD}), sum(score) FROM {{db}}.reviews",
    "ticket_events": "SELECT count(), uniqExact(ticket_id), countIf(type = 'TicketClosed') FROM {db}.ticket_events",
    "tickets": "SELECT count(), countIf(status = 'closed') FROM {db}.tickets FINAL",
    "alerts": "SELECT count() FROM {db}.alerts",
    "dead_letters": "SELECT count() FROM {db}.dead_letters",
}


def figures(store: ClickHouseStore) -> dict[str, tuple]:
    return {name: tuple(store.query(sql)[0]) for name, sql in FIGURES.items()}
