"""The ClickHouse writer: classified reviews, ticket events and states, alerts and dead letters into
ClickHouse in big batches (`sink_batch` rows, or what `sink_flush_seconds` gathered), the batch's
offsets committed after the inserts.

Replay-safe as the store's writes are: each insert first asks which of its keys are stored and adds
only the rest, so a batch written again after a crash adds nothing. One writer per partition (the
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

import orjson
from aiokafka import TopicPartition

from schemas import topics as t
from schemas.alerts import AlertEnvelope
from schemas.review import DeadLetter
from schemas.tickets import TicketEventEnvelope
from streams import crashpoints

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 6  # about 30 s of backoff
AFTER_INSERT = "writer.after_insert"
crashpoints.declare(AFTER_INSERT)

TOPICS = (t.REVIEWS_CLASSIFIED, t.TICKET_EVENTS, t.TICKET_STATE, t.ALERTS, t.DEAD_LETTERS)


class ClickHouseWriter:
    """The batch handler (streams.kafka_batch.BatchHandler) of `haocha sink`."""

    def __init__(self, settings, store, executor: Executor):
        self.store, self.executor = store, executor
        self.topics = {settings.topic(spec.name): spec for spec in TOPICS}
        self.rows = 0

    async def assigned(self, tps: set[TopicPartition]) -> None:
        pass

    async def revoked(self, tps: set[TopicPartition]) -> None:
        pass

    async def process(self, batch: dict[TopicPartition, list]) -> None:
        by_spec: dict = {spec: [] for spec in TOPICS}
        for tp, records in batch.items():
            spec = self.topics[tp.topic]
            if spec is t.DEAD_LETTERS:
                by_spec[spec].extend((tp.partition, rec) for rec in records)
            else:
                by_spec[spec].extend(records)
        self.rows += await self._run(self._write, by_spec)
        crashpoints.reached(AFTER_INSERT)

    def _write(self, by_spec: dict) -> int:
        store, n = self.store, 0
        if reviews := by_spec[t.REVIEWS_CLASSIFIED]:
            # Rows straight from orjson: the schema was validated upstream (review_row_from_dict).
            n += store.write_reviews([orjson.loads(r.value) for r in reviews])
        if events := by_spec[t.TICKET_EVENTS]:
            n += store.write_ticket_events([TicketEventEnvelope.model_validate_json(r.value) for r in events])
        if states := by_spec[t.TICKET_STATE]:
            n += store.write_ticket_states([orjson.loads(r.value) for r in states if r.value is not None])
        if alerts := by_spec[t.ALERTS]:
            n += store.write_alert_events([AlertEnvelope.model_validate_json(r.value) for r in alerts])
        if letters := by_spec[t.DEAD_LETTERS]:
            rows = []
            for partition, r in letters:
                try:
                    rows.append((DeadLetter.model_validate_json(r.value), partition, r.offset))
                except ValueError:
                    log.error("unreadable dead letter at %s@%s kept in Kafka only", partition, r.offset)
            n += store.write_dead_letters(rows)
        return n

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
