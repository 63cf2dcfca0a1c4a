"""The Faust application: the deadline sweep timer, the HTTP API, the producer they send with, and
the lifecycle the batch hops (streams/hops.py) run in.

No stream is consumed through Faust. The review hop, the ticket hop and the ClickHouse writer run
on plain aiokafka in batches (streams/kafka_batch.py): the review hop and the writer move tens of
thousands of records per second, where Faust's per-message consumer path cost more than the work
(docs/performance.md); the ticket hop, because Faust's consumer committed offsets of commands its
agent had never received after a rebalance, and a command's offset must be committed only after
its events, snapshot, table write and outcome are delivered. So the app starts without Faust's
consumer (`_NoConsumer`): it joins no consumer group.

Senders hand pre-serialised bytes straight to the producer (`Outbox`), not through `Topic.send`,
whose per-message machinery cost more than the work.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import faust

from haocha.adapters.clock import Clock
from haocha.adapters.sealing import DEAD_LETTERS, Sealer
from haocha.domain.directory import Directory
from haocha.domain.calendar import WorkingCalendar
from haocha.domain.deadlines import DeadlinePolicy
from haocha.domain.reviews import CountingRules
from haocha.settings import Settings
from schemas import topics as t
from streams.ticket_table import TicketTable

log = logging.getLogger(__name__)


@dataclass
class Deps:
    settings: Settings
    directory: Directory
    calendar: WorkingCalendar
    clock: Clock
    store: Any = None  # sinks.clickhouse.ClickHouseStore, opened by the worker only
    # The store's one thread: the embedded engine is called from one thread, never from the loop.
    store_executor: Executor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse"))

    @cached_property
    def seal(self):
        """Seals a dead letter's raw bytes: personal data is never at rest in clear."""
        return Sealer(self.settings.secret_key.get_secret_value(), DEAD_LETTERS).seal

    @property
    def rules(self) -> CountingRules:
        return CountingRules(repeat_window_seconds=self.settings.repeat_window_seconds)

    @property
    def policy(self) -> DeadlinePolicy:
        return DeadlinePolicy(
            contact_working_days=self.settings.contact_working_days,
            resolve_working_days=self.settings.resolve_working_days,
        )


class _NoConsumer(faust.App.BootStrategy):
    """Faust's producer, timers and services, without its consumer, conductor and tables."""

    enable_kafka_consumer = False


class WorkerApp(faust.App):
    BootStrategy = _NoConsumer


class StreamApp:
    """The Faust app plus handles on its topics and the ticket table, for the hops and the HTTP API."""

    def __init__(self, deps: Deps):
        s = deps.settings
        self.deps = deps
        self.app = WorkerApp(
            s.app_id,
            broker=f"kafka://{s.kafka_bootstrap}",
            datadir=str((s.data_dir / "faust").resolve()),
            topic_partitions=s.partitions,
            topic_replication_factor=s.replication,
            topic_disable_leader=True,
            web_enabled=False,
            autodiscover=False,
            producer_acks=-1,
            # aiokafka keeps one batch open per partition and, when it is full, makes `send` wait
            # for the in-flight request: 512 KB stays under the broker's 1 MB message.max.bytes.
            producer_max_batch_size=512 * 1024,
            producer_max_request_size=8 * 1024 * 1024,
            producer_linger=0.005,
        )
        raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
        topic = lambda spec: self.app.topic(s.topic(spec.name), partitions=s.partitions, **raw)  # noqa: E731
        self.dead_letters = topic(t.DEAD_LETTERS)
        self.commands = topic(t.TICKET_COMMANDS)
        self.events = topic(t.TICKET_EVENTS)
        self.outcomes = topic(t.TICKET_OUTCOMES)
        self.ticket_state = topic(t.TICKET_STATE)
        self.alerts = topic(t.ALERTS)
        self.tickets: TicketTable | None = None  # set by streams.ticket_agent.register
        self.hops = None  # streams.hops.HopsService: the batch hops, run in this app's lifecycle


class Outbox:
    """What one sender (the deadline sweep, the API) emits: bytes handed straight to the app's
    producer, and their delivery futures, awaited by `Outbox.delivered()`.

    `app.producer.send` is Faust's thin wrapper over aiokafka's `send` (same partitioner as
    `Topic.send`: murmur2 of the key). It skips Topic.send's per-message FutureMessage, Channel and
    callback machinery, which the profile showed costing more than the domain work itself."""

    def __init__(self, app: faust.App):
        self._producer = app.producer
        self._futures: list = []

    async def send(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None) -> asyncio.Future:
        # Awaiting only queues the message (or waits for room in a full producer batch).
        fut = await self._producer.send(topic, key, value, partition, None, None)
        self._futures.append(fut)
        return fut

    def __len__(self) -> int:
        return len(self._futures)

    async def delivered(self) -> None:
        """Every message sent so far is in Kafka (acks=all); the first failure is raised."""
        futures, self._futures = self._futures, []
        if futures:
            await asyncio.gather(*futures)


# Exit code of a worker that stopped itself because a hop failed on a batch.
EXIT_AGENT_FAILED = 70


def exit_failed(_reason: str = "") -> None:
    """Stop the process at once: no `finally`, no flush, no commit (crash-only)."""
    logging.shutdown()
    os._exit(EXIT_AGENT_FAILED)
