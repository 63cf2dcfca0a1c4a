"""The batch hops (the review hop, the ticket hop, and the ClickHouse writer when the worker runs
it) as one mode Service of the worker: started with the Faust app, stopped with it (SIGTERM lets
the batch in flight commit first), each a member of its own consumer group. Their Kafka clients
come from the one factory (haocha.adapters.kafka).

`Hops` also runs without Faust: `haocha sink` runs the writer alone (apps/commands/sink.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from concurrent.futures import Executor

from mode import Service

from haocha.adapters import kafka
from haocha.adapters.cpu_priority import keep_bulk_threads_below_loop
from schemas import topics as t
from streams.app import StreamApp, exit_failed
from streams.clickhouse_writer import AFTER_INSERT, TOPICS as WRITER_TOPICS, ClickHouseWriter, fetch_options
from streams.kafka_batch import BatchConsumer, consumer_options, topic_partitions
from streams.progress import Counts
from streams.review_hop import BEFORE_COMMIT, ReviewHop
from streams.ticket_agent import TicketHop, output_topics as ticket_outputs
from streams.ticket_table import TicketTable

log = logging.getLogger(__name__)


class Hops:
    """Some batch consumers sharing one producer."""

    def __init__(self, settings):
        self.settings = settings
        self.producer = None  # made on the event loop, by the first hop that emits
        self.consumers: list[BatchConsumer] = []
        self._tasks: list[asyncio.Task] = []
        self._closers: list = []
        self.review_hop: ReviewHop | None = None
        self.tickets: BatchConsumer | None = None

    def _member(self, role: str) -> str | None:
        # Static membership per role: each role is its own consumer group.
        base = self.settings.group_instance_id
        return f"{base}-{role}" if base else None

    async def add_review_hop(self, deps) -> ReviewHop:
        s = self.settings
        await self._start_producer()
        outputs = [s.topic(spec.name) for spec in (t.REVIEWS_SUBMITTED, t.REVIEWS_CLASSIFIED, t.TICKET_COMMANDS,
                                                   t.ALERTS, t.DEAD_LETTERS, t.REVIEW_STATE)]
        restore = lambda: kafka.consumer(s, fetch_max_bytes=64 * 1024 * 1024,  # noqa: E731
                                         max_partition_fetch_bytes=16 * 1024 * 1024)
        hop = ReviewHop(deps, await topic_partitions(self.producer, outputs), s.data_dir / "state" / "reviews", restore)
        hop.producer = self.producer
        self._closers.append(hop.states.close_all)
        topics = [s.topic(t.REVIEWS_SUBMITTED.name)]
        consumer = kafka.consumer(s, **consumer_options(s, s.review_group, self._member("reviews"), s.review_batch))
        self.reviews = BatchConsumer(name="reviews", consumer=consumer, topics=topics, handler=hop,
                                     batch_records=s.review_batch, on_failure=exit_failed,
                                     commit_points=(BEFORE_COMMIT,))
        self.consumers.append(self.reviews)
        self.review_hop = hop
        return hop

    async def add_ticket_hop(self, deps, table: TicketTable) -> TicketHop:
        s = self.settings
        await self._start_producer()
        hop = TicketHop(deps, table, await topic_partitions(self.producer, ticket_outputs(s)))
        hop.producer = self.producer
        self._closers.append(table.close_all)
        # The group and static member the Faust ticket agent had: its committed offsets carry over.
        consumer = kafka.consumer(s, **consumer_options(s, s.app_id, s.group_instance_id, s.ticket_batch))
        self.tickets = BatchConsumer(name="tickets", consumer=consumer, topics=[s.topic(t.TICKET_COMMANDS.name)],
                                     handler=hop, batch_records=s.ticket_batch, batch_seconds=s.ticket_flush_seconds,
                                     idle_seconds=0.005, on_failure=exit_failed)
        self.consumers.append(self.tickets)
        return hop

    def add_writer(self, store, executor: Executor) -> ClickHouseWriter:
        s = self.settings
        writer = ClickHouseWriter(s, store, executor)
        consumer = kafka.consumer(s, **{**consumer_options(s, s.writer_group, self._member("writer"), s.sink_batch),
                                        **fetch_options(s)})
        self.consumers.append(BatchConsumer(
            name="writer", consumer=consumer, topics=[s.topic(spec.name) for spec in WRITER_TOPICS], handler=writer,
            batch_records=s.sink_batch, batch_seconds=s.sink_flush_seconds, on_failure=exit_failed,
            commit_points=(AFTER_INSERT,)))
        return writer

    def progress(self) -> Counts:
        """The review hop's counts since start, and its lag, for the worker's progress line."""
        if self.review_hop is None:
            return Counts()
        return dataclasses.replace(self.review_hop.counts, lag=self.reviews.lag())

    async def start(self) -> None:
        for c in self.consumers:
            await c.start()
            self._tasks.append(asyncio.ensure_future(c.run()))
        # The hops' batches and the API wait on the loop; inserts and compactions can wait.
        self._tasks.append(asyncio.ensure_future(keep_bulk_threads_below_loop(self.settings.bulk_nice)))

    async def stop(self) -> None:
        for c in self.consumers:
            await c.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.producer is not None:
            await self.producer.stop()
        for close in self._closers:
            close()

    async def _start_producer(self) -> None:
        if self.producer is None:
            self.producer = kafka.producer(self.settings, **kafka.PRODUCER_OPTIONS)
            await self.producer.start()


class HopsService(Service):
    def __init__(self, stream_app: StreamApp, **kwargs):
        super().__init__(**kwargs)
        self.stream_app = stream_app
        self.hops = Hops(stream_app.deps.settings)

    async def on_start(self) -> None:
        deps = self.stream_app.deps
        await self.hops.add_review_hop(deps)
        if self.stream_app.tickets is not None:
            await self.hops.add_ticket_hop(deps, self.stream_app.tickets)
        if deps.settings.sink_in_worker and deps.store is not None:
            self.hops.add_writer(deps.store, deps.store_executor)
        await self.hops.start()

    async def on_stop(self) -> None:
        await self.hops.stop()

    def progress(self) -> Counts:
        return self.hops.progress()
