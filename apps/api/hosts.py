"""What the process serving the API lends it, beyond the store and the command bus: the worker
lends its ticket table (current state of the tickets of its partitions, no sink lag) and its
producer; `haocha sink`, which owns the embedded store but holds no ticket, lends a producer and
answers "not here" for the table, so every read falls back to ClickHouse."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from faust.streams import _current_event

from apps.api.reader import TicketReader
from haocha.adapters import kafka
from haocha.domain.tickets import FINAL, DecisionContext, TicketState, fold_all
from schemas.tickets import TicketCommandEnvelope, TicketEventEnvelope
from sinks.tickets_read import TicketFilter
from streams.app import Outbox, StreamApp
from streams.deadline_sweep import check_command, due_checks, local_states
from streams.readiness import waiting_for
from streams.recent_events import DeliveredListener


class ApiHost(Protocol):
    def local_state(self, ticket_id: str) -> TicketState | None:
        """The ticket from this process's own table, None where it is not held here."""

    def local_history(self, ticket_id: str, version: int) -> list[bytes] | None:
        """The ticket's events 1..`version` (envelope JSON) where this process holds them all."""

    def follow_events(self, listener: DeliveredListener) -> None:
        """Have `listener` told of the ticket events this process delivers (none where it decides none)."""

    def rebalancing(self) -> bool:
        """True while this process cannot answer yet (the API's health says "starting")."""

    async def due_checks(self, at: datetime, ctx: DecisionContext,
                         reader: TicketReader) -> tuple[int, list[TicketCommandEnvelope]]:
        """(open tickets looked at, deadline checks to send) for the admin sweep."""

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        """One record, returned once it is in the log."""

    async def close(self) -> None: ...


class WorkerHost:
    def __init__(self, sa: StreamApp):
        self.sa = sa

    def local_state(self, ticket_id: str) -> TicketState | None:
        # Outside an agent there must be no "current event": with one, Faust's store looks only in
        # that event's partition. Without, it finds the key in whichever local partition holds it.
        _current_event.set(None)
        raw = self.sa.tickets.get(ticket_id)
        # The hop writes the table once a batch's snapshots are in the log, a few ms after its
        # events: the live queue names a ticket before. The events are in the log already, and
        # the state is their fold, so a ticket whose events are ahead of the table is folded here.
        held = self.sa.tickets.recent.held(ticket_id)
        if held and (raw is None or len(held) > raw["version"]):
            return fold_all([TicketEventEnvelope.model_validate_json(e) for e in held])
        return None if raw is None else TicketState.model_validate(raw)

    def local_history(self, ticket_id: str, version: int) -> list[bytes] | None:
        return self.sa.tickets.recent.history(ticket_id, version)

    def follow_events(self, listener: DeliveredListener) -> None:
        self.sa.tickets.listeners.append(listener)

    def rebalancing(self) -> bool:
        # The ticket hop's, not Faust's: Faust's consumer is off, so its app never rebalances.
        return bool(waiting_for(self.sa))

    async def due_checks(self, at: datetime, ctx: DecisionContext,
                         reader: TicketReader) -> tuple[int, list[TicketCommandEnvelope]]:
        # Only this worker's partitions: with several workers, ask each (the periodic sweep does).
        return due_checks(local_states(self.sa), at, ctx)

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        out = Outbox(self.sa.app)
        await out.send(topic, key, value)
        await out.delivered()

    async def close(self) -> None:
        pass


class StoreHost:
    """The API beside the store and no ticket table (`haocha sink`). The sweep cannot ask the
    domain which ticket is due without its state, so it sends a check to every ticket open in the
    store: the ticket agent decides, and a ticket with nothing due answers with no event."""

    def __init__(self, settings):
        self.settings = settings
        self._producer = None

    def local_state(self, ticket_id: str) -> TicketState | None:
        return None

    def local_history(self, ticket_id: str, version: int) -> list[bytes] | None:
        return None

    def follow_events(self, listener: DeliveredListener) -> None:
        pass  # the writer decides no ticket: its live queue reads them all from Kafka

    def rebalancing(self) -> bool:
        return False

    async def due_checks(self, at: datetime, ctx: DecisionContext,
                         reader: TicketReader) -> tuple[int, list[TicketCommandEnvelope]]:
        ids = await open_ticket_ids(reader, self.settings.list_limit_max)
        return len(ids), [check_command(tid, at) for tid in ids]

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        if self._producer is None:
            self._producer = kafka.producer(self.settings)
            await self._producer.start()
        await self._producer.send_and_wait(topic, key=key, value=value)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


async def open_ticket_ids(reader: TicketReader, page: int) -> list[str]:
    ids: list[str] = []
    offset = 0
    while True:
        rows, total = await reader.list(TicketFilter(limit=page, offset=offset))
        ids += [r["ticket_id"] for r in rows if r["status"] not in FINAL]
        offset += len(rows)
        if not rows or offset >= total:
            return ids

