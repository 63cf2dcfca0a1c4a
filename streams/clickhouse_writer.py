"""The ClickHouse writer: classified reviews, ticket events and states, alerts and dead letters into
ClickHouse in big batches (`sink_batch` rows, or what `sink_flush_seconds` gathered), the batch's
offsets committed after the inserts.

Replay-safe as the store's writes are: ClickHouse stages each batch and stores only the rows whose
keys it does not hold yet (sinks/staging.py), so a batch written again after a crash adds nothing;
the records' bytes go to the store unparsed, ClickHouse maps the JSON. One writer per partition (the
consumer group) keeps that race-free; with several writer processes on one server, each table's
partitions still have one writer at a time, and a rebalance waits for the batch in flight.

The embedded engine is called from one thread (`executor`, shared with the API's reads), so the
event loop does not block on it; a transient ClickHouse fault is retried, one that lasts stops the
process with the batch still uncommitted.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

from aiokafka import TopicPartition

from schemas import topics as t
from sinks import rows
from streams import crashpoints

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 6  # about 30 s of backoff
AFTER_INSERT = "writer.after_insert"
crashpoints.declare(AFTER_INSERT)

TOPICS = (t.REVIEWS_CLASSIFIED, t.TICKET_EVENTS, t.TICKET_STATE, t.ALERTS, t.DEAD_LETTERS)


class ClickHouseWriter:
    """The batch handler (streams.kafka_batch.BatchHandler) of `haocha sink`. Each topic's records
    become rows as `sinks.rows` says (the mapping `haocha rebuild` uses too)."""

    def __init__(self, settings, store, executor: Executor):
        self.store, self.executor = store, executor
        self.history = {settings.topic(h.topic): h for h in rows.HISTORY}
        self.rows = 0

    async def assigned(self, tps: set[TopicPartition]) -> None:
        pass

    async def revoked(self, tps: set[TopicPartition]) -> None:
        pass

    async def process(self, batch: dict[TopicPartition, list]) -> None:
        by_topic: dict[str, list] = {}
        for tp, records in batch.items():
            by_topic.setdefault(tp.topic, []).extend(r for r in records if r.value is not None)
        parsed = [(self.history[topic], self.history[topic].parse(records)) for topic, records in by_topic.items()]
        self.rows += await self._run(self._write, parsed)
        crashpoints.reached(AFTER_INSERT)

    def _write(self, parsed: list) -> int:
        return sum(history.write(self.store, items) for history, items in parsed)

    async def _run(self, fn, *args):
        delay = 0.5
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
            except Exception as exc:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
                log.warning("ClickHouse write failed (%s); retry %d in %.1f s", exc, attempt + 1, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
