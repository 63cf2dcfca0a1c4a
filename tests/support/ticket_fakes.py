"""The worker's command bus and the store's ticket reader without Kafka or ClickHouse: the bus applies
commands with the real pure domain, the reader shows what the bus holds, so only the transport is
replaced."""

from __future__ import annotations

from datetime import datetime

from apps.api.views import state_view
from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.adapters.command_bus import CommandTimeout
from haocha.domain.calendar import SHANGHAI
from haocha.domain.tickets import DecisionContext, TicketState, execute
from schemas import tickets as t
from sinks.tickets_read import TicketFilter

CN = ChineseWorkingCalendar()
NOW = datetime(2021, 5, 6, 9, 0, tzinfo=SHANGHAI)


class FakeBus:
    def __init__(self):
        self.states: dict[str, TicketState] = {}
        self.events: dict[str, list[t.TicketEventEnvelope]] = {}
        self.sent: list[t.TicketCommandEnvelope] = []
        self.silent = False  # no outcome comes back in time, as when no worker owns the partition

    async def send(self, cmd: t.TicketCommandEnvelope, timeout: float | None = None) -> t.CommandOutcome:
        self.sent.append(cmd)
        if self.silent:
            raise CommandTimeout(cmd.command_id, timeout or 0)
        out, state = execute(self.states.get(cmd.ticket_id), cmd, DecisionContext(calendar=CN), NOW)
        if state is not None:
            self.states[cmd.ticket_id] = state
        self.events.setdefault(cmd.ticket_id, []).extend(out.events)
        return out


class FakeReader:
    def __init__(self, bus: FakeBus):
        self.bus = bus

    async def list(self, f: TicketFilter):
        rows = [state_view(s) for s in self.bus.states.values() if not f.department or s.department_id == f.department]
        return rows, len(rows)

    async def get(self, ticket_id: str):
        s = self.bus.states.get(ticket_id)
        return state_view(s) if s else None

    async def counts(self, f):
        rows, _ = await self.list(f)
        return {s: sum(r["status"] == s for r in rows) for s in {r["status"] for r in rows}}

    async def events(self, ticket_id: str):
        # The columns of the sink's ticket_events and the payload as JSON (the sink masks; the view masks again).
        return [{"event_id": e.event_id, "version": e.version, "type": e.type, "occurred_at": e.occurred_at,
                 "recorded_at": e.recorded_at, "actor_id": e.actor.id, "actor_role": e.actor.role,
                 "command_id": e.command_id, "event": e.event.model_dump(mode="json")}
                for e in self.bus.events.get(ticket_id, [])]
