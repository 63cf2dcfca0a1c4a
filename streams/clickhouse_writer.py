"""The ClickHouse writer: classified reviews, ticket events and states, alerts and dead letters into
ClickHouse in big batches (`sink_batch` rows, or what `sink_flush_seconds` gathered), the batch's
offsets committed after the inserts.

Replay-safe as the store's writes are: ClickHouse stages each batch and stores only the rows whose
keys it does not hold yet (sinks/staging.py), so a batch written again after a crash adds nothing;
the records' bytes go to the store unparsed, ClickHouse maps the JSON. One writer per partition (the
consumer group) keeps that race-free; with several writer processes on one server, each table's
partitions still have one writer at a time, and a rebalance waits for the batch in flight.

A batch's inserts commit one by one, each table's before its materialized views', and a replay adds
nothing to a table that holds the keys: a writer killed mid-batch would leave raw rows the rollups
never got. So the writer marks its batch pending in the store before the inserts and done after
(`writer_batches`, per writer id); finding its last batch pending at start (or after a failed
attempt), it rebuilds the rollups from the raw tables before it stores anything
(ClickHouseStore.rebuild_rollups). The embedded store has one writer, so nothing inserts during the
rebuild. On a server with several writers the rebuild does not stop the others: their inserts
meanwhile may be counted twice or lost by the rollups, so stop the other writers first (the writer
warns), and give each writer a stable HAOCHA_WORKER_INSTANCE_ID (its id on a server).

The embedded engine is called from one thread (`executor`, shared with the API's reads), so the
event loop does not block on it; a transient ClickHouse fault is retried, one that lasts stops the
process with the batch still uncommitted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor

from aiokafka import TopicPartition

from schemas import topics as t
from sinks import rows
from streams import crashpoints

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 6  # about 30 s of backoff
AFTER_INSERT = "writer.after_insert"
BETWEEN_INSERTS = "writer.between_inserts"  # the batch's first table stored, its last not yet
crashpoints.declare(AFTER_INSERT, BETWEEN_INSERTS)

TOPICS = (t.REVIEWS_CLASSIFIED, t.TICKET_EVENTS, t.TICKET_STATE, t.ALERTS, t.DEAD_LETTERS)


class ClickHouseWriter:
    """The batch handler (streams.kafka_batch.BatchHandler) of `haocha sink`. Each topic's records
    become rows as `sinks.rows` says (the mapping `haocha rebuild` uses too)."""

    def __init__(self, settings, store, executor: Executor):
        self.store, self.executor = store, executor
        self.history = {settings.topic(h.topic): h for h in rows.HISTORY}
        self.rows = 0
        self.writer_id = writer_id(settings)
        self.embedded = settings.embedded_store
        self._unfinished: bool | None = None  # a batch's inserts may have stopped half way; None: not asked yet

    async def assigned(self, tps: set[TopicPartition]) -> None:
        if self._unfinished is None:
            await self._run(self._recover)

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
        if self._unfinished is not False:
            self._recover()
        if not parsed:
            return 0
        self.store.batch_started(self.writer_id)
        self._unfinished = True
        n = 0
        for i, (history, items) in enumerate(parsed):
            n += history.write(self.store, items)
            if i == 0:
                crashpoints.reached(BETWEEN_INSERTS)
        self.store.batch_done(self.writer_id)
        self._unfinished = False
        return n

    def _recover(self) -> None:
        """Rebuild the rollups if a batch's inserts may have stopped half way: the last batch
        before this start, or a failed attempt of the batch being retried."""
        if self._unfinished is None:
            self._unfinished = self.store.batch_unfinished(self.writer_id)
            why = "the writer's last batch before this start did not finish (killed or cut off mid-batch)"
        else:
            why = "an attempt of this batch failed part way"
        if not self._unfinished:
            return
        log.warning("rebuilding the report's rollups from the raw tables before storing anything: %s, so the "
                    "rollups may lack rows the raw tables hold; reports are incomplete until this is done", why)
        if not self.embedded:
            log.warning("other writers on this ClickHouse server must not insert during the rebuild: their rows "
                        "may be counted twice or lost by the rollups (stop them, or restart them all after)")
        started = time.monotonic()
        reviews, events = self.store.rebuild_rollups()
        self.store.batch_done(self.writer_id)
        self._unfinished = False
        log.warning("rollups rebuilt from %d reviews and %d ticket events in %.1f s; storing resumes",
                    reviews, events, time.monotonic() - started)

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


def fetch_options(settings) -> dict:
    """The writer's fetches, over the batch consumer's. The writer gathers a batch for
    `sink_flush_seconds` anyway, so the broker may hold a fetch until a good share of it is there:
    with the hops' 10 ms wait the writer fetched every partition of its five topics some 46 times a
    second (4 with these), and encoding those requests and decoding their answers in Python
    (aiokafka's protocol classes) took as much of its Python time as its inserts' calls."""
    return dict(fetch_min_bytes=1 << 20, fetch_max_wait_ms=max(10, min(500, int(settings.sink_flush_seconds * 250))))


def writer_id(settings) -> str:
    """The writer's key in writer_batches. An embedded store has one writer: its group is enough,
    and stays the same when the host's name changes. On a server, one per writer instance."""
    if settings.embedded_store:
        return settings.writer_group
    return f"{settings.writer_group}/{settings.group_instance_id or ''}"
