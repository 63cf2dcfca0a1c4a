"""Tickets: commands are decided one at a time per ticket (one consumer per partition, keyed by
ticket id), their events written to the ticket-events log, then the state snapshot, then the state
table moves, then the outcome is answered on the outcomes topic for whoever waits for it.

Order matters for crash safety (docs/architecture.md, "Every read model is a fold of the log"):
each step is in Kafka before the next begins, and the batch is acknowledged last. A crash before
the table moved replays the command against the older state: it decides the same events with the
same ids (`<ticket>:<version>`), which consumers drop as copies, and sends the snapshot again. A
crash after the table moved (its RocksDB is written at once, its changelog with the batch) finds
the command remembered: a duplicate, which re-emits the ticket's current snapshot and rewrites the
table, so a snapshot or changelog record lost in the crash is always sent again.
"""

from __future__ import annotations

import logging

import orjson

from pydantic import ValidationError

from haocha.domain.tickets import DecisionContext, TicketState, execute
from schemas.tickets import CommandOutcome, TicketCommandEnvelope
from streams.app import fail_stop, Outbox, StreamApp, as_current, write_table
from streams.crashpoints import declare, reached
from haocha.domain.intake import dead_letter

log = logging.getLogger(__name__)
# Between the steps of a batch (streams/crashpoints.py; tests/integration/test_crash_points.py).
EVENTS_DELIVERED, SNAPSHOTS_DELIVERED, TABLE_WRITTEN, DONE = (
    "ticket.events_delivered", "ticket.snapshots_delivered", "ticket.table_written", "ticket.done")
declare(EVENTS_DELIVERED, SNAPSHOTS_DELIVERED, TABLE_WRITTEN, DONE)


def load_state(raw) -> TicketState | None:
    return None if raw is None else TicketState.model_validate(raw)


def register(sa: StreamApp) -> None:
    app, deps = sa.app, sa.deps
    ctx = DecisionContext(calendar=deps.calendar, policy=deps.policy)
    commands, events_topic = sa.commands.get_topic_name(), sa.events.get_topic_name()
    state_topic, outcomes_topic = sa.ticket_state.get_topic_name(), sa.outcomes.get_topic_name()
    dead_letters = sa.dead_letters.get_topic_name()

    @app.agent(sa.commands, name="tickets")
    async def tickets(stream):
        async for events in stream.take_events(deps.settings.ticket_batch, within=deps.settings.ticket_flush_seconds):
            with fail_stop("tickets"):
                now = deps.clock.now()
                states: dict[str, TicketState | None] = {}
                last_event = {}
                outcomes: list[CommandOutcome] = []
                out = Outbox(app)
                for ev in events:
                    try:
                        cmd = TicketCommandEnvelope.model_validate_json(ev.value)
                    except ValidationError as exc:
                        dl = dead_letter(ev.value, source=commands, reason="schema", detail=str(exc), key=ev.message.key,
                                         partition=ev.message.partition, offset=ev.message.offset, failed_at=now,
                                         seal=deps.seal)
                        await out.send(dead_letters, ev.message.key, dl.model_dump_json().encode())
                        continue
                    tid = cmd.ticket_id
                    if tid not in states:
                        as_current(ev)  # the RocksDB store reads from the current event's partition
                        states[tid] = load_state(sa.tickets.get(tid))
                    outcome, new_state = execute(states[tid], cmd, ctx, recorded_at=now)
                    for env in outcome.events:
                        await out.send(events_topic, tid.encode(), env.model_dump_json().encode())
                    if outcome.events or (outcome.status == "duplicate" and new_state is not None):
                        # A duplicate may be the replay of a batch that crashed after the table
                        # moved and before its snapshot or changelog got out: send them again.
                        states[tid] = new_state
                        last_event[tid] = ev
                    outcomes.append(outcome)
                await out.delivered()  # the log first ...
                reached(EVENTS_DELIVERED)
                snapshots = {tid: (states[tid].model_dump(mode="json"), ev) for tid, ev in last_event.items()}
                for tid, (snapshot, _) in snapshots.items():  # ... then what the read side folds ...
                    await out.send(state_topic, tid.encode(), orjson.dumps(snapshot))
                await out.delivered()
                reached(SNAPSHOTS_DELIVERED)
                # ... then the state (one write per ticket and batch; its changelog goes out with the
                # batch through `write_table`, not Faust's producer buffer)
                await write_table(sa.tickets, snapshots, out)
                reached(TABLE_WRITTEN)
                for outcome in outcomes:
                    await out.send(outcomes_topic, outcome.command_id.encode(), outcome.model_dump_json().encode())
                await out.delivered()
                reached(DONE)
