"""The Faust application: topics, tables and agents, declared once from the settings.

Agents are thin: decode, call the pure domain, emit, and await delivery of what they emitted
before their batch is acknowledged. Faust flushes the producer (table changelogs included) before
it commits offsets, so after a crash a batch is at worst processed again, and the domain and the
sinks are written to make that harmless.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import faust
from faust.streams import _current_event

from haocha.adapters.clock import Clock
from haocha.directory import Directory
from haocha.domain.calendar import WorkingCalendar
from haocha.domain.deadlines import DeadlinePolicy
from haocha.domain.reviews import CountingRules
from haocha.settings import Settings
from streams import topics as t


@dataclass
class Deps:
    settings: Settings
    directory: Directory
    calendar: WorkingCalendar
    clock: Clock
    store: Any = None  # sinks.clickhouse.ClickHouseStore, opened by the worker only

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
            broker_commit_interval=1.0,
            table_standby_replicas=0,
            stream_buffer_maxsize=max(4096, s.review_batch * 2),
        )
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


def as_current(event: faust.EventT) -> None:
    """Make `event` the stream's current event, so table writes done for it land in its partition's
    changelog. Needed when an agent takes events in batches."""
    _current_event.set(weakref.ref(event))


async def delivered(futures: list) -> None:
    """Wait until Kafka has every message sent for a batch; a failure fails the batch (no ack)."""
    for fut in futures:
        await fut
