"""Batch hops on plain aiokafka: fetch many records per partition, hand them to a handler as one
batch, commit the batch's offsets only after everything it emitted is in Kafka (acks=all).

Faust hands an agent one message at a time through queues, tasks and callbacks; at a few hundred
microseconds per message that machinery, not the platform's work, was the worker's ceiling
(docs/performance.md). Here a batch costs one `getmany`, one append per output record into the
producer's record batches (pre-serialised bytes, `Emitter`), one delivery wait and one commit.

Ordering protocol of a batch (the handler's job, the consumer's commit):
1. the handler emits its output and awaits its delivery;
2. it writes its state (changelog delivered, then local store);
3. the consumer commits the batch's offsets.
A crash anywhere before 3 processes the batch again; the handler must be deterministic on replay.

The commit of a batch runs while the next batch is fetched and processed, and is awaited before
the next commit: a commit is a round trip to the group coordinator, the last of each batch's, and
at a steady rate every batch waited for it. A crash before it landed replays this batch and the
next: the same as a crash before the commit of one batch holding both, since the handler's state
moves only after its output is in Kafka and is then a batch's end state (what a replay of a
bigger batch would find).

Rebalances are cooperative with the batch: revoking partitions waits until the batch in flight is
committed, and a batch whose partitions were revoked meanwhile is dropped, not committed (the new
owner processes it again).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import OffsetAndMetadata

from streams import crashpoints

log = logging.getLogger(__name__)


def spare_the_collector(batch_records: int) -> None:
    """A batch keeps what it fetched and made (a few objects per record) alive until it is
    committed. Under the garbage collector's default threshold (700 new objects) all of it would be
    promoted to the oldest generation within the batch, and the full collections that follow scan
    the whole heap: about a tenth of the worker's CPU. With the threshold above what a batch holds,
    its objects die young, freed by their reference counts; the collector still runs, rarely."""
    threshold = max(100_000, 20 * batch_records)
    young, middle, old = gc.get_threshold()
    if young < threshold:
        gc.set_threshold(threshold, middle, old)
    # What the process built before its first batch (modules, the app, its clients) lives as long
    # as the process; frozen, it is out of the collector's sight, so a full collection scans only
    # what came since (a full scan of the worker's startup heap holds its loop for tens of ms).
    gc.freeze()


class BatchHandler(Protocol):
    """A hop's logic. `process` must emit, deliver and save its state before returning."""

    async def assigned(self, partitions: set[TopicPartition]) -> None: ...

    async def revoked(self, partitions: set[TopicPartition]) -> None: ...

    async def process(self, batch: dict[TopicPartition, list]) -> None: ...


class BatchConsumer:
    """One consumer group member: fetch, `handler.process(batch)`, commit; repeat until stopped.

    `batch_records` bounds a batch; `batch_seconds` is how long a batch may keep filling (0: take
    what one fetch returns); `idle_seconds`, if given, ends the filling sooner when no record came
    for that long: under a light load a batch then goes at once instead of waiting out the window,
    under a heavy one records keep coming and the window fills. A handler that raises stops the
    process (`on_failure`) before its batch is committed: the batch stays in Kafka for the next
    owner (crash-only); the commit of the batch before it, complete by then, is let finish."""

    def __init__(self, *, name: str, consumer: AIOKafkaConsumer, topics: Iterable[str], handler: BatchHandler,
                 batch_records: int, batch_seconds: float = 0.0, idle_seconds: float | None = None,
                 on_failure: Callable[[str], None], commit_points: tuple[str, ...] = ()):
        self.name, self.handler, self.consumer = name, handler, consumer
        self.topics = list(topics)
        self.batch_records, self.batch_seconds, self.idle_seconds = batch_records, batch_seconds, idle_seconds
        self._on_failure = on_failure
        self._before_commit = commit_points
        self._lock = asyncio.Lock()
        self._owned: set[TopicPartition] = set()
        self._read: dict[TopicPartition, int] = {}
        self._commit: asyncio.Task | None = None  # the last batch's commit, while it is in flight
        self._stopping = False
        self.batches = 0
        self.records = 0

    @property
    def assignment(self) -> set[TopicPartition]:
        return set(self._owned)

    async def start(self) -> None:
        spare_the_collector(self.batch_records)
        self.consumer.subscribe(self.topics, listener=_Listener(self))
        await self.consumer.start()

    async def stop(self) -> None:
        self._stopping = True
        async with self._lock:  # the batch in flight finishes (and commits) first
            await self._committed()
            await self.consumer.stop()

    async def run(self) -> None:
        try:
            while not self._stopping:
                batch = await self._next_batch()
                if batch:
                    await self._process(batch)
        except Exception as exc:
            if self._stopping:
                return
            log.critical("%s failed on a batch", self.name, exc_info=True)
            with contextlib.suppress(Exception):  # the batch before the failed one is done: commit it
                await asyncio.wait_for(self._committed(), 5.0)
            self._on_failure(f"{self.name}: {exc!r}")

    async def _next_batch(self) -> dict[TopicPartition, list]:
        got = await self.consumer.getmany(timeout_ms=500, max_records=self.batch_records)
        if not got or self.batch_seconds <= 0:
            return got
        n = sum(len(v) for v in got.values())
        deadline = time.monotonic() + self.batch_seconds
        while n < self.batch_records and not self._stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            wait = left if self.idle_seconds is None else min(left, self.idle_seconds)
            more = await self.consumer.getmany(timeout_ms=int(wait * 1000) + 1, max_records=self.batch_records - n)
            if not more and self.idle_seconds is not None:
                break
            for tp, records in more.items():
                got.setdefault(tp, []).extend(records)
                n += len(records)
        return got

    async def _process(self, batch: dict[TopicPartition, list]) -> None:
        async with self._lock:
            # Partitions revoked while the batch was being fetched belong to another member now.
            batch = {tp: records for tp, records in batch.items() if tp in self._owned and records}
            if not batch:
                return
            await self.handler.process(batch)
            for point in self._before_commit:
                crashpoints.reached(point)
            await self._committed()  # commits land in order
            self._commit = asyncio.create_task(self._commit_batch(batch), name=f"{self.name}-commit")

    async def _committed(self) -> None:
        """Wait for the last batch's commit, if it is still in flight."""
        task, self._commit = self._commit, None
        if task is not None:
            await task

    async def _commit_batch(self, batch: dict[TopicPartition, list]) -> None:
        offsets = {tp: OffsetAndMetadata(records[-1].offset + 1, "") for tp, records in batch.items()}
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group moved on (a long stall); the new owner processes the batch again,
            # which the handlers' determinism makes harmless.
            log.warning("%s: commit refused (%s); the batch will be processed again", self.name, exc)
        except Exception as exc:
            if self._stopping:  # the batch is processed again after the restart
                log.warning("%s: commit failed while stopping (%r)", self.name, exc)
                return
            log.critical("%s failed to commit a batch", self.name, exc_info=True)
            self._on_failure(f"{self.name}: {exc!r}")
            return
        self.batches += 1
        self.records += sum(len(r) for r in batch.values())
        for tp, records in batch.items():
            self._read[tp] = records[-1].offset + 1

    def lag(self) -> int | None:
        """Records of the assigned partitions not processed yet (None: not known yet)."""
        try:
            total = 0
            for tp in self._owned:
                high = self.consumer.highwater(tp)
                if high is None:
                    return None
                total += max(0, high - self._read.get(tp, high))
            return total
        except Exception:  # rebalancing
            return None


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: BatchConsumer):
        self.owner = owner

    async def on_partitions_revoked(self, revoked) -> None:
        o = self.owner
        async with o._lock:
            await o._committed()  # the last batch's offsets go in before the partitions go
            o._owned -= set(revoked)
            if revoked:
                await o.handler.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        o = self.owner
        async with o._lock:
            if assigned:
                await o.handler.assigned(set(assigned))
            o._owned |= set(assigned)
        log.info("%s: partitions %s", o.name, sorted((tp.topic, tp.partition) for tp in o._owned))


async def topic_partitions(producer: AIOKafkaProducer, topics: Iterable[str]) -> dict[str, int]:
    return {t: len(await producer.partitions_for(t)) for t in topics}


def consumer_options(settings, group: str, instance_id: str | None, batch_records: int) -> dict:
    """What a batch consumer asks of `haocha.adapters.kafka.consumer`."""
    session_ms = int(settings.broker_session_seconds * 1000)
    return dict(
        group_id=group, group_instance_id=instance_id or None, auto_offset_reset="earliest",
        max_poll_records=batch_records, fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=8 * 1024 * 1024,
        # How long the broker holds a fetch that finds nothing new. Only one fetch per broker is in
        # flight, and a partition just consumed waits for it to return before it is fetched again:
        # with sparse records (the ticket commands) that hold is a hop's latency, not idle time.
        fetch_max_wait_ms=10,
        # Short enough that a crashed member's partitions move within seconds; heartbeats run on
        # their own task, so a long batch does not miss them.
        session_timeout_ms=session_ms, heartbeat_interval_ms=max(1000, session_ms // 4), max_poll_interval_ms=300_000)
