"""The deadline sweep: ask each open ticket whose next threshold has passed to check its deadlines.

Warnings (50 %, 80 %) and escalation (100 %) are decided by the ticket itself from its state and
the command's time (`CheckDeadlines`), and the state remembers which were raised. So the sweep holds
no memory of its own: after a restart it sends the same checks again, and a ticket that already
warned answers with no new event. Command ids are deterministic per ticket and minute, so two
sweeps in the same minute (timer and admin, or a retry) are answered `duplicate`.

Each worker sweeps the tickets of its own partitions (the local table), where the state is current.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timezone

from haocha.domain.tickets import DecisionContext, Refusal, TicketState, decide
from schemas.tickets import SYSTEM, CheckDeadlines, TicketCommandEnvelope
from streams.app import Outbox, StreamApp

log = logging.getLogger(__name__)


def check_command(ticket_id: str, at: datetime) -> TicketCommandEnvelope:
    minute = at.astimezone(timezone.utc).strftime("%Y%m%dT%H%MZ")
    return TicketCommandEnvelope(command_id=f"sweep:{ticket_id}:{minute}", ticket_id=ticket_id, issued_at=at,
                                 actor=SYSTEM, command=CheckDeadlines())


def due_checks(states: Iterable[TicketState], at: datetime, ctx: DecisionContext) -> tuple[int, list[TicketCommandEnvelope]]:
    """(open tickets looked at, commands to send). Asks the pure domain, so the sweep sends a
    command exactly when the ticket would emit a warning or an escalation."""
    checked, commands = 0, []
    for state in states:
        if not state.is_open:
            continue
        checked += 1
        cmd = check_command(state.ticket_id, at)
        decision = decide(state, cmd, ctx)
        if not isinstance(decision, Refusal) and decision:
            commands.append(cmd)
    return checked, commands


def local_states(sa: StreamApp) -> list[TicketState]:
    out = []
    for _, raw in sa.tickets.items():
        if raw is not None:
            out.append(TicketState.model_validate(raw))
    return out


async def sweep(sa: StreamApp, at: datetime,
                send: Callable[[TicketCommandEnvelope], Awaitable[object]]) -> tuple[int, list[TicketCommandEnvelope]]:
    ctx = DecisionContext(calendar=sa.deps.calendar, policy=sa.deps.policy)
    checked, commands = due_checks(local_states(sa), at, ctx)
    for cmd in commands:
        await send(cmd)
    if commands:
        log.info("deadline sweep at %s: %d open tickets, %d to check", at.isoformat(), checked, len(commands))
    return checked, commands


def register(sa: StreamApp) -> None:
    interval = sa.deps.settings.deadline_sweep_seconds
    if not interval:
        return

    commands = sa.commands.get_topic_name()

    @sa.app.timer(interval, name="deadline-sweep")
    async def periodic_sweep() -> None:
        out = Outbox(sa.app)

        async def send(cmd: TicketCommandEnvelope) -> None:
            await out.send(commands, cmd.ticket_id.encode(), cmd.model_dump_json().encode())

        try:
            await sweep(sa, sa.deps.clock.now(), send)
            await out.delivered()
        except Exception:  # one failed round must not end the timer; the next one redoes it
            log.exception("deadline sweep failed")
