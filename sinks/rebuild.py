"""Re-derive the ClickHouse history from the Kafka log.

The log holds every classified review, every ticket event and state snapshot, every alert and
dead letter, forever. Reading them from the start into an empty database, with the same
idempotent writes the worker uses, gives the same history figure for figure.

The topics fill tables of their own (each table's views read that table only), so they are
replayed side by side, each by its own consumer onto its own connection (sinks/rebuild_writes.py);
within a topic the batches are written one at a time and in the log's order, each while the next
is read. The engine runs outside the GIL, so reading (Python) and writing (ClickHouse) overlap.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from aiokafka import TopicPartition

from haocha.adapters import kafka
from haocha.settings import Settings
from sinks.clickhouse import ClickHouseStore
from sinks.rebuild_writes import WRITERS
from sinks.sql import BAD

BATCH = 20_000
# Records per rebuild write: each insert has a fixed cost (a part per table and view, their
# merges), which a batch this large spreads thin; two batches per topic are held at a time.
REBUILD_BATCH = 100_000


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


async def batches(settings: Settings, name: str, size: int) -> AsyncIterator[list]:
    """read_topic's batches joined up to `size` records (the last one may hold fewer)."""
    pending: list = []
    async for msgs in read_topic(settings, name):
        pending += msgs
        if len(pending) >= size:
            yield pending
            pending = []
    if pending:
        yield pending


async def replay_topic(settings: Settings, name: str, write: Callable[[list], int], reading: asyncio.Lock,
                       on_progress: Callable[[str, int], None] | None = None, size: int = REBUILD_BATCH) -> int:
    """Every batch of one topic through `write` (run on a thread), each while the next is read.
    A batch is read holding `reading`, which the topics share: decoding records is Python work,
    one topic at a time, so the first batch of each is ready as soon as it can be and every
    writer gets its batches early, rather than all of them at the end of a long common read."""
    total, writing = 0, None
    msgs = batches(settings, name, size)
    try:
        while True:
            async with reading:
                batch = await anext(msgs, None)
            if batch is None:
                break
            if writing is not None:
                total += await writing
                if on_progress:
                    on_progress(name, total)
            writing = asyncio.ensure_future(asyncio.to_thread(write, batch))
        if writing is not None:
            total += await writing
            writing = None
    finally:
        if writing is not None:  # reading failed: the batch in flight still finishes
            await asyncio.gather(writing, return_exceptions=True)
        await msgs.aclose()
    if on_progress:
        on_progress(name, total)
    return total


async def rebuild(settings: Settings, store: ClickHouseStore, on_progress=None,
                  batch: int = REBUILD_BATCH) -> dict[str, int]:
    """Replay every history topic into `store` (already migrated); returns rows written per topic
    (for tickets.state: ticket rows, each a ticket's newest snapshot in its batch)."""
    stores = {name: ClickHouseStore(store.dsn, store.db, store.timezone) for name in WRITERS}
    try:
        reading = asyncio.Lock()
        replays = [asyncio.ensure_future(replay_topic(settings, name, make(stores[name]).write, reading, on_progress,
                                                      batch))
                   for name, make in WRITERS.items()]
        try:
            totals = await asyncio.gather(*replays)
        finally:  # one topic failed: the others stop, their batches in flight finish first
            for r in replays:
                r.cancel()
            await asyncio.gather(*replays, return_exceptions=True)
        return dict(zip(WRITERS, totals))
    finally:
        for s in stores.values():
            s.close()


FIGURES = {
    "reviews": f"SELECT count(), countIf(counted), countIf(counted AND {BAD}), sum(score) FROM {{db}}.reviews",
    "ticket_events": "SELECT count(), uniqExact(ticket_id), countIf(type = 'TicketClosed') FROM {db}.ticket_events",
    "tickets": "SELECT count(), countIf(status = 'closed') FROM {db}.tickets FINAL",
    "alerts": "SELECT count() FROM {db}.alerts",
    "dead_letters": "SELECT count() FROM {db}.dead_letters",
}


def figures(store: ClickHouseStore) -> dict[str, tuple]:
    return {name: tuple(store.query(sql)[0]) for name, sql in FIGURES.items()}
