"""The Faust application: topics, tables and agents, declared once from the settings.

Agents are thin: decode, call the pure domain, emit, and await delivery of what they emitted
before their batch is acknowledged. Faust flushes the producer (table changelogs included) before
it commits offsets, so after a crash a batch is at worst processed again, and the domain and the
sinks are written to make that harmless.

Throughput (docs/performance.md): agents take events in batches and hand pre-serialised bytes
straight to the producer (`Outbox`), not through `Topic.send`, whose per-message FutureMessage /
Channel machinery cost more than the domain work. The producer batches big (a batch per partition
holds hundreds of reviews instead of Faust's default 16 KB) and fetches are big, so one Kafka round
trip carries a whole agent batch.
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
from faust.transport.consumer import CONSUMER_FETCHING, Consumer as _FaustConsumer
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
            # Every agent's queue must hold more than its batch: all agents share one fetcher, and
            # when a queue is full the fetcher blocks for every topic. A sink taking 5000 rows
            # from a 4096-message queue waited its whole `within` each time and stalled the rest.
            stream_buffer_maxsize=4 * max(s.review_batch, s.ticket_batch, s.sink_batch),
            broker_max_poll_records=2 * max(s.review_batch, s.ticket_batch, s.sink_batch),
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
        self.submitted = topic(t.REVIEWS_SUBMITTED)
        self.accepted = topic(t.REVIEWS_ACCEPTED)
        self.classified = topic(t.REVIEWS_CLASSIFIED)
        self.dead_letters = topic(t.DEAD_LETTERS)
        self.commands = topic(t.TICKET_COMMANDS)
        self.events = topic(t.TICKET_EVENTS)
        self.outcomes = topic(t.TICKET_OUTCOMES)
        self.ticket_state = topic(t.TICKET_STATE)
        self.alerts = topic(t.ALERTS)
        # Counting-rule memory (review ids, case numbers, terminal presses), partitioned like the
        # accepted-reviews topic (by hall).
        self.guard = self.app.Table("review-guard", default=None, partitions=s.partitions,
                                    key_type=str, value_type=None)
        # Ticket state: a fold of the ticket's events, partitioned like the command topic.
        self.tickets = self.app.Table("tickets", default=None, partitions=s.partitions,
                                      key_type=str, value_type=None)
        # More work on each batch of classified reviews, done by the one agent that consumes the
        # topic (the review sink): `async fn(events, docs)`, docs being the JSON of each event as
        # dicts. Faust delivers a message to every agent of its topic one by one, so one consumer
        # instead of two halves that cost. A hook delivers what it emits before it returns.
        self.on_classified: list = []


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


class _Resumed:
    """The rest of a coroutine whose first step already ran and yielded `first` (a future, or None
    for a bare `sleep(0)`): awaiting this drives the coroutine on as if it had never been split."""

    __slots__ = ("_coro", "_first")

    def __init__(self, coro, first):
        self._coro, self._first = coro, first

    def __await__(self):
        coro, y = self._coro, self._first
        while True:
            try:
                sent = yield y
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation, thrown in by the task: pass it on
                try:
                    y = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    y = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def _drain_messages(self, fetcher) -> None:  # pragma: no cover - runs inside the worker
    """`faust.transport.consumer.Consumer._drain_messages` (faust-streaming 0.15.3), with one change:
    a message's callback (the conductor's `on_message`) starts eagerly, in the drain loop itself.

    Faust awaits each message's callback through `wait_first(callback, suspend_flow.wait())`, which
    makes four tasks and an `asyncio.wait` per message: the biggest single cost of the consumer path
    (docs/performance.md). Almost always the callback finishes without ever waiting (it decodes the
    message and puts it on the agents' queues). Only when it does wait (a full queue, flow control,
    the producer buffer) is the rest of it raced against `suspend_flow` exactly as Faust does, so a
    rebalance still interrupts a blocked callback. Exceptions propagate as before."""
    callback = self.callback
    getmany = self.getmany
    consumer_should_stop = self._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    get_read_offset = self._read_offset.__getitem__
    set_read_offset = self._read_offset.__setitem__
    set_flag, unset_flag = self.diag.set_flag, self.diag.unset_flag
    commit_every = self._commit_every
    acks_enabled_for = self.app.topics.acks_enabled_for
    yield_every, num_since_yield = 100, 0
    sleep = asyncio.sleep
    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            set_flag(CONSUMER_FETCHING)
            ait = getmany(timeout=1.0)
            await self.sleep(0)
            if not self.should_stop:
                async for tp, message in ait:
                    num_since_yield += 1
                    if num_since_yield > yield_every:
                        await sleep(0)
                        num_since_yield = 0
                    offset = message.offset
                    r_offset = get_read_offset(tp)
                    if r_offset is None or offset >= r_offset:
                        gap = offset - (r_offset or 0)
                        if gap > 1 and r_offset:
                            if acks_enabled_for(message.topic):
                                await self._add_gap(tp, r_offset + 1, offset)
                        if commit_every is not None:
                            if self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                        coro = callback(message)
                        try:
                            first = coro.send(None)
                        except StopIteration:
                            pass  # done without waiting: the common case
                        else:
                            await self.wait_first(_Resumed(coro, first), self.suspend_flow.wait())
                        set_read_offset(tp, offset)
                    else:
                        self.log.dev("DROPPED MESSAGE ROFF %r: k=%r v=%r", offset, message.key, message.value)
                unset_flag(CONSUMER_FETCHING)
    except self.consumer_stopped_errors:
        if self.transport.app.should_stop:
            self.log.info("Broker stopped consumer, shutting down...")
            return
        raise
    except asyncio.CancelledError:
        if self.transport.app.should_stop:
            self.log.info("Consumer shutting down for user cancel.")
            return
        raise
    except Exception as exc:
        self.log.exception("Drain messages raised: %r", exc)
        raise
    finally:
        unset_flag(CONSUMER_FETCHING)


_FaustConsumer._drain_messages = _drain_messages


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
        logging.shutdown()
        os._exit(EXIT_AGENT_FAILED)
