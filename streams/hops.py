"""The batch hops (the review hop, and the ClickHouse writer when the worker runs it) as one mode
Service of the worker: started with the Faust app, stopped with it (SIGTERM lets the batch in
flight commit first), each a member of its own consumer group.

`Hops` also runs without Faust: `haocha sink` runs the writer alone (apps/commands/sink.py).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

from mode import Service

from schemas import topics as t
from streams.app import StreamApp, exit_failed
from streams.clickhouse_writer import AFTER_INSERT, TOPICS as WRITER_TOPICS, ClickHouseWriter
from streams.kafka_batch import BatchConsumer, new_producer, topic_partitions
from streams.review_hop import BEFORE_COMMIT, ReviewHop

log = logging.getLogger(__name__)


class Hops:
    """Some batch consumers sharing one producer."""

    def __init__(self, settings):
        self.settings = settings
        self.producer = new_producer(settings.kafka_bootstrap)
        self.consumers: list[BatchConsumer] = []
        self._tasks: list[asyncio.Task] = []
        self._closers: list = []
        self._producer_started = False

    def _member(self, role: str) -> str | None:
        return f"{self.settings.instance_id}-{role}" if self.settings.instance_id else None

    async def add_review_hop(self, deps) -> ReviewHop:
        s = self.settings
        await self._start_producer()
        outputs = [s.topic(spec.name) for spec in (t.REVIEWS_SUBMITTED, t.REVIEWS_CLASSIFIED, t.TICKET_COMMANDS,
                                                   t.ALERTS, t.DEAD_LETTERS, t.REVIEW_STATE)]
        hop = ReviewHop(deps, await topic_partitions(self.producer, outputs), s.data_dir / "state" / "reviews")
        hop.producer = self.producer
        self._closers.append(hop.states.close_all)
        self.consumers.append(BatchConsumer(
            name="reviews", bootstrap=s.kafka_bootstrap, group=s.review_group,
            topics=[s.topic(t.REVIEWS_SUBMITTED.name)], handler=hop, batch_records=s.review_batch,
            instance_id=self._member("reviews"), session_timeout_ms=int(s.session_timeout_seconds * 1000),
            on_failure=exit_failed, commit_points=(BEFORE_COMMIT,)))
        return hop

    def add_writer(self, store, executor: Executor) -> ClickHouseWriter:
        s = self.settings
        writer = ClickHouseWriter(s, store, executor)
        self.consumers.append(BatchConsumer(
            name="writer", bootstrap=s.kafka_bootstrap, group=s.writer_group,
            topics=[s.topic(spec.name) for spec in WRITER_TOPICS], handler=writer, batch_records=s.sink_batch,
            batch_seconds=s.sink_flush_seconds, instance_id=self._member("writer"),
            session_timeout_ms=int(s.session_timeout_seconds * 1000), on_failure=exit_failed,
            commit_points=(AFTER_INSERT,)))
        return writer

    async def start(self) -> None:
        for c in self.consumers:
            await c.start()
            self._tasks.append(asyncio.ensure_future(c.run()))

    async def stop(self) -> None:
        for c in self.consumers:
            await c.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._producer_started:
            await self.producer.stop()
        for close in self._closers:
            close()

    async def _start_producer(self) -> None:
        if not self._producer_started:
            await self.producer.start()
            self._producer_started = True


class HopsService(Service):
    stream_app: StreamApp  # bound by register()

    async def on_start(self) -> None:
        sa = self.stream_app
        s = sa.deps.settings
        self.hops = Hops(s)
        await self.hops.add_review_hop(sa.deps)
        if s.sink_in_worker and sa.deps.store is not None:
            self.hops.add_writer(sa.deps.store, sa.store_executor)
        await self.hops.start()

    async def on_stop(self) -> None:
        await self.hops.stop()


def register(sa: StreamApp) -> None:
    sa.app.service(type("HaochaHops", (HopsService,), {"stream_app": sa}))
