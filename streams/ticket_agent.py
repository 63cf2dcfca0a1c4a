"""Tickets: commands are decided one at a time per ticket (one consumer per partition, keyed by
ticket id), their events written to the ticket-events log, then the state snapshot together with
the outcome on the outcomes topic for whoever waits for it, then the state table moves, and only
then are the batch's offsets committed.

The hop runs on the plain aiokafka batch runner (streams/kafka_batch.py), not as a Faust agent:
Faust's consumer commits offsets of its own bookkeeping, which after a rebalance counted commands
the agent never received as done (docs/performance.md, "The ticket agent"). The runner commits
exactly the offsets of the batch just handled, after `process` returned.

Order matters for crash safety (docs/architecture.md, "Every read model is a fold of the log"):
each step is in Kafka before the next begins, and the offsets are committed last. A crash before
the snapshots got out replays the command against the older state: it decides the same events
with the same ids (`<ticket>:<version>`), which consumers drop as copies. A crash after finds the
command remembered in the snapshot the table is restored from: a duplicate, which re-emits the
ticket's current snapshot and rewrites the table, so the outcome is answered in any case.
"""

from __future__ import annotations

import logging

import orjson
from aiokafka import TopicPartition
from pydantic import ValidationError

from haocha.adapters import kafka
from haocha.adapters.kafka import Emitter
from haocha.domain.intake import dead_letter
from haocha.domain.tickets import DecisionContext, TicketState, execute
from schemas import topics as t
from schemas.tickets import CommandOutcome, TicketCommandEnvelope
from streams.app import StreamApp
from streams.crashpoints import declare, reached
from streams.recent_events import Delivered
from streams.ticket_table import TicketTable

log = logging.getLogger(__name__)
# Between the steps of a batch (streams/crashpoints.py; tests/integration/test_crash_points.py).
EVENTS_DELIVERED, SNAPSHOTS_DELIVERED, TABLE_WRITTEN = (
    "ticket.events_delivered", "ticket.snapshots_delivered", "ticket.table_written")
declare(EVENTS_DELIVERED, SNAPSHOTS_DELIVERED, TABLE_WRITTEN)


def load_state(raw) -> TicketState | None:
    return None if raw is None else TicketState.model_validate(raw)


def register(sa: StreamApp) -> None:
    """The worker decides ticket commands: its ticket table, read by the API and the deadline sweep,
    and the ticket hop, which its batch hops (streams/hops.py) run."""
    s = sa.deps.settings
    sa.tickets = TicketTable(
        s.data_dir / "state" / "tickets", s.topic(t.TICKET_STATE.name),
        lambda: kafka.consumer(s, fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024))


def output_topics(settings) -> list[str]:
    return [settings.topic(spec.name) for spec in (t.TICKET_EVENTS, t.TICKET_STATE, t.TICKET_OUTCOMES, t.DEAD_LETTERS)]


class TicketHop:
    """The batch handler (streams.kafka_batch.BatchHandler) of the ticket commands."""

    def __init__(self, deps, table: TicketTable, producer_partitions: dict[str, int]):
        s = deps.settings
        self.deps, self.table, self.partitions = deps, table, producer_partitions
        self.ctx = DecisionContext(calendar=deps.calendar, policy=deps.policy)
        self.commands = s.topic(t.TICKET_COMMANDS.name)
        self.events, self.snapshots = s.topic(t.TICKET_EVENTS.name), s.topic(t.TICKET_STATE.name)
        self.outcomes, self.dead_letters = s.topic(t.TICKET_OUTCOMES.name), s.topic(t.DEAD_LETTERS.name)
        self.producer = None  # set by the runner before the first batch

    async def assigned(self, tps: set[TopicPartition]) -> None:
        await self.table.open(tp.partition for tp in tps if tp.topic == self.commands)

    async def revoked(self, tps: set[TopicPartition]) -> None:
        self.table.close(tp.partition for tp in tps if tp.topic == self.commands)

    async def process(self, batch: dict[TopicPartition, list]) -> None:
        out = Emitter(self.producer, self.partitions)
        now = self.deps.clock.now()
        states: dict[str, TicketState | None] = {}
        moved: dict[str, int] = {}  # ticket -> its partition, for the tickets whose state moved
        outcomes: list[CommandOutcome] = []
        events: list[Delivered] = []
        for tp, records in batch.items():
            for rec in records:
                outcome = self._one(rec, tp.partition, states, moved, events, out, now)
                if outcome is not None:
                    outcomes.append(outcome)
        await out.delivered()  # the log first ...
        reached(EVENTS_DELIVERED)
        self.table.delivered(events)
        by_partition: dict[int, dict[str, dict]] = {}
        for tid, partition in moved.items():  # ... then what the read side folds and the table restores from ...
            snapshot = states[tid].model_dump(mode="json")
            by_partition.setdefault(partition, {})[tid] = snapshot
            out.send(self.snapshots, tid.encode(), orjson.dumps(snapshot), partition=partition)
        # ... and with the snapshots, the answers: an outcome needs its events in the log, and the
        # snapshot beside it only changes when the caller hears (a crash after the snapshots are
        # in the log is answered again by the replay's duplicate). One round trip less per batch.
        for outcome in outcomes:
            out.send(self.outcomes, outcome.command_id.encode(), outcome.model_dump_json().encode())
        ends = await out.delivered()
        reached(SNAPSHOTS_DELIVERED)
        for partition, snapshots in by_partition.items():  # ... then the local table; the runner commits after
            self.table.write(partition, snapshots, ends.get((self.snapshots, partition)))
        reached(TABLE_WRITTEN)

    def _one(self, rec, partition: int, states: dict, moved: dict, events: list, out: Emitter,
             now) -> CommandOutcome | None:
        try:
            cmd = TicketCommandEnvelope.model_validate_json(rec.value)
        except ValidationError as exc:
            dl = dead_letter(rec.value, source=self.commands, reason="schema", detail=str(exc), key=rec.key,
                             partition=partition, offset=rec.offset, failed_at=now, seal=self.deps.seal)
            out.send(self.dead_letters, rec.key, dl.model_dump_json().encode())
            return None
        tid = cmd.ticket_id
        if tid not in states:
            states[tid] = load_state(self.table.get_in(partition, tid))
        outcome, new_state = execute(states[tid], cmd, self.ctx, recorded_at=now)
        for env in outcome.events:
            raw = env.model_dump_json().encode()
            out.send(self.events, tid.encode(), raw)
            events.append((tid, env.version, raw, partition))
        if outcome.events or (outcome.status == "duplicate" and new_state is not None):
            # A duplicate may be the replay of a batch that crashed after its snapshot got out and
            # before its outcome did: send the snapshot again and rewrite the table.
            states[tid] = new_state
            moved[tid] = partition
        return outcome
