"""Re-derive the ClickHouse history from the Kafka log.

The log holds every classified review, every ticket event and state snapshot, every alert and
dead letter, forever. Reading them from the start into an empty database, with the same
idempotent writes the worker uses, gives the same history figure for figure.
"""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from haocha.adapters import kafka
from haocha.settings import Settings
from sinks import rows
from sinks.clickhouse import ClickHouseStore
from sinks.sql import BAD

BATCH = 20_000


async def rebuild(settings: Settings, store: ClickHouseStore, on_progress=None) -> dict[str, int]:
    """Replay every history topic into `store` (already migrated); returns rows written per topic."""
    written: dict[str, int] = {}
    for history in rows.HISTORY:
        name = history.topic
        topic = settings.topic(name)
        consumer = kafka.consumer(settings, auto_offset_reset="earliest", max_poll_records=BATCH)
        await consumer.start()
        try:
            await consumer._client.force_metadata_update()
            tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not tps:
                continue
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            total = 0
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                batch = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
                msgs = [m for part in batch.values() for m in part]
                if msgs:
                    total += await asyncio.to_thread(history, store, msgs)
                    if on_progress:
                        on_progress(name, total)
            written[name] = total
        finally:
            await consumer.stop()
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
