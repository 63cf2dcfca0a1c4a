"""Tickets: commands are decided one at a time per ticket (one consumer per partition, keyed by
ticket id), their events written to the ticket-events log, then the state table moves, then the
outcome is answered on the outcomes topic for whoever waits for it.

Order matters for crash safety: the events are in the log before the state that folds them is
saved. A crash in between replays the command against the older state; it decides the same
events with the same ids (`<ticket>:<version>`), which consumers drop as copies.
"""

from __future__ import annotations

import logging

import orjson

from pydantic import ValidationError

from haocha.domain.tickets import DecisionContext, TicketState, execute
from schemas.tickets import CommandOutcome, TicketCommandEnvelope
from streams.app import StreamApp, as_current, delivered
from streams.intake import dead_letter

log = logging.getLogger(__name__)


def load_state(raw) -> TicketState | None:
    return None if raw is None else TicketState.model_validate(raw)


def register(sa: StreamApp) -> None:
    app, deps = sa.app, sa.deps
    ctx = DecisionContext(calendar=deps.calendar, policy=deps.policy)

    @app.agent(sa.commands, name="tickets")
    async def tickets(stream):
        async for events in stream.take_events(500, within=0.05):
            now = deps.clock.now()
            states: dict[str, TicketState | None] = {}
            last_event = {}
            outcomes: list[CommandOutcome] = []
            futures = []
            for ev in events:
                try:
                    cmd = TicketCommandEnvelope.model_validate_json(ev.value)
                except ValidationError as exc:
                    dl = dead_letter(ev.value, source=sa.commands.get_topic_name(), reason="schema", detail=str(exc),
                                     key=ev.message.key, partition=ev.message.partition, offset=ev.message.offset,
                                     failed_at=now)
                    futures.append(await sa.dead_letters.send(key=ev.message.key, value=dl.model_dump_json().encode()))
                    continue
                tid = cmd.ticket_id
                state = states[tid] if tid in states else load_state(sa.tickets.get(tid))
                outcome, new_state = execute(state, cmd, ctx, recorded_at=now)
                for env in outcome.events:
                    futures.append(await sa.events.send(key=tid.encode(), value=env.model_dump_json().encode()))
                if outcome.events:
                    states[tid] = new_state
                    last_event[tid] = ev
                elif tid not in states:
                    states[tid] = state
                outcomes.append(outcome)
            await delivered(futures)  # the log first ...
            for tid, ev in last_event.items():  # ... then the state
                as_current(ev)
                snapshot = states[tid].model_dump(mode="json")
                sa.tickets[tid] = snapshot
                await sa.ticket_state.send(key=tid.encode(), value=orjson.dumps(snapshot))
            for outcome in outcomes:
                await sa.outcomes.send(key=outcome.command_id.encode(), value=outcome.model_dump_json().encode())
