"""The Faust application: the ticket agent and its table, the deadline sweep timer, the HTTP API,
and the lifecycle the batch hops (streams/hops.py) run in.

The review hop and the ClickHouse writer are not Faust agents: they move tens of thousands of
records per second, where Faust's per-message consumer path cost more than the work
(docs/performance.md); they run on plain aiokafka in batches (streams/kafka_batch.py).

Agents are thin: decode, call the pure domain, emit, and await delivery of what they emitted
before their batch is acknowledged. Faust flushes the producer (table changelogs included) before
it commits offsets, so after a crash a batch is at worst processed again, and the domain and the
sinks are written to make that harmless. Agents hand pre-serialised bytes straight to the
producer (`Outbox`), not through `Topic.send`, whose per-message machinery cost more than the work.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import faust
from faust.types import TP
from faust.streams import _current_event

from haocha.adapters.clock import Clock
from haocha.adapters.sealing import DEAD_LETTERS, Sealer
from haocha.domain.directory import Directory
from haocha.domain.calendar import WorkingCalendar
from haocha.domain.deadlines import DeadlinePolicy
from haocha.domain.reviews import CountingRules
from haocha.settings import Settings
from schemas import topics as t

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


class StreamApp:
    """The Faust app plus handles on its topics and tables, for agents and the HTTP API."""

    def __init__(self, deps: Deps):
        s = deps.settings
        self.deps = deps
        self.app = faust.App(
            s.app_id,
            broker=f"kafka://{s.kafka_bootstrap}",
            store=s.store,
            datadir=str((s.data_dir / "faust").resolve()),
            topic_partitions=s.partitions,
            topic_replication_factor=s.replication,
            topic_disable_leader=True,
            web_enabled=False,
            autodiscover=False,
            producer_acks=-1,
            consumer_auto_offset_reset="earliest",
            # Offsets are committed on this timer (after Faust flushes the producer). Cheap with
            # batches, and it is the latency of "caught up" as the consumer group sees it.
            broker_commit_interval=0.5,
            table_standby_replicas=0,
            # Restart readiness: a static member restarted within its session gets its partitions back
            # without waiting for the dead process to expire; the session is short so that a worker
            # gone for good hands its partitions over in seconds, not Faust's default minute.
            consumer_group_instance_id=s.group_instance_id,
            broker_session_timeout=s.broker_session_seconds,
            broker_heartbeat_interval=min(3.0, s.broker_session_seconds / 4),
            # The ticket agent's queue must hold more than its batch: when a queue is full the
            # shared fetcher blocks for every topic.
            stream_buffer_maxsize=4 * s.ticket_batch,
            broker_max_poll_records=2 * s.ticket_batch,
            consumer_max_fetch_size=4 * 1024 * 1024,  # per partition and fetch (default 1 MB)
            # The producer is the hot spot. aiokafka keeps one batch open per partition and, when it
            # is full, makes `send` wait for the in-flight request: with the 16 KB default (about 15
            # reviews) every agent waited a broker round trip per 15 messages. 512 KB stays under
            # the broker's 1 MB message.max.bytes.
            producer_max_batch_size=512 * 1024,
            producer_max_request_size=8 * 1024 * 1024,
            producer_linger=0.005,
        )
        # Table writes through `Table.__setitem__` queue their changelog in Faust's producer buffer;
        # above `max_messages` (100) the conductor stops delivering *every* message to *every* agent
        # until it has drained. Our agents write tables through `write_table` (changelogs in the
        # batch's Outbox), so nothing should queue there now; the limit stays raised as a safety
        # net. Faust still flushes that buffer before committing offsets.
        self.app.producer.buffer.max_messages = max(100, s.review_batch * 4)
        raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
        topic = lambda spec: self.app.topic(s.topic(spec.name), partitions=s.partitions, **raw)  # noqa: E731
        self.dead_letters = topic(t.DEAD_LETTERS)
        self.commands = topic(t.TICKET_COMMANDS)
        self.events = topic(t.TICKET_EVENTS)
        self.outcomes = topic(t.TICKET_OUTCOMES)
        self.ticket_state = topic(t.TICKET_STATE)
        self.alerts = topic(t.ALERTS)
        # Ticket state: a fold of the ticket's events, partitioned like the command topic.
        self.tickets = self.app.Table("tickets", default=None, partitions=s.partitions,
                                      key_type=str, value_type=None)
        self.hops = None  # streams.hops.HopsService: the batch hops, run in this app's lifecycle


def as_current(event: faust.EventT) -> None:
    """Make `event` the stream's current event, so table writes done for it land in its partition's
    changelog. Needed when an agent takes events in batches."""
    _current_event.set(weakref.ref(event))


class Outbox:
    """What one agent batch emits: bytes handed straight to the app's producer, and their delivery
    futures, awaited by `Outbox.delivered()` before the batch is acknowledged.

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


async def write_table(table: faust.Table, items: dict[Any, tuple[Any, faust.EventT]], out: Outbox) -> None:
    """`table[key] = value` for many keys at once, each written for its event (RocksDB database
    and changelog partition of that event's partition, as `as_current(event)` gives `__setitem__`).

    Same bytes, partitions and persisted offsets as Faust's own `Table.__setitem__`, but the
    changelog records go out through the batch's Outbox (delivered before the batch is acked)
    instead of Faust's producer buffer, which sends one message per event-loop round trip: with a
    few table writes per review it could not keep up and stalled every agent (docs/performance.md).
    """
    changelog = table.changelog_topic
    name = changelog.get_topic_name()
    last: dict[int, asyncio.Future] = {}
    for key, (value, event) in items.items():
        as_current(event)  # the store writes into the database of the current event's partition
        partition = event.message.partition
        k, _ = changelog.prepare_key(key, table.key_serializer)
        v, _ = changelog.prepare_value(value, table.value_serializer)
        table.data[key] = value
        last[partition] = await out.send(name, k, v, partition=partition)
    store = table.data
    for partition, fut in last.items():
        # What Faust's changelog callback does: remember (in RocksDB) how far the changelog is
        # already in the store, so recovery replays only what came after.
        fut.add_done_callback(lambda f, p=partition: not f.cancelled() and f.exception() is None
                              and store.set_persisted_offset(TP(name, p), f.result().offset))


# Exit code of a worker that stopped itself because an agent failed on a batch.
EXIT_AGENT_FAILED = 70


@contextmanager
def fail_stop(agent: str):
    """Crash-only agents. If an agent body raises, Faust's `take_events` acknowledges the batch
    anyway (its `finally`) and restarts the agent, so the commit loop would move past messages
    that were never processed. Exiting at once, before any commit, keeps the batch in Kafka: the
    process supervisor (compose `restart:`, k8s, the tests) restarts the worker and it is
    processed again. Bad input never gets here: agents handle it (dead letters) without raising."""
    try:
        yield
    except Exception:
        log.critical("agent %s failed on a batch; the worker exits without committing it", agent, exc_info=True)
        exit_failed()


def exit_failed(_reason: str = "") -> None:
    """Stop the process at once: no `finally`, no flush, no commit (crash-only)."""
    logging.shutdown()
    os._exit(EXIT_AGENT_FAILED)
