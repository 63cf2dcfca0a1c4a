"""Sinks: the review history, ticket events and dead letters into ClickHouse, in batches.

A batch is written (only the rows not yet stored) before its offsets are acknowledged, so a crash
means the batch is written again and nothing is added twice. The embedded engine is called from
one thread; the event loop does not block on it.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import orjson

from schemas.review import DeadLetter, ReviewClassified
from schemas.tickets import TicketEventEnvelope
from streams.app import StreamApp

log = logging.getLogger(__name__)


def register(sa: StreamApp) -> None:
    app, deps = sa.app, sa.deps
    s = deps.settings
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
    sa.store_executor = pool

    async def run(fn, *args):
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    @app.agent(sa.classified, name="sink-reviews")
    async def sink_reviews(stream):
        async for events in stream.take_events(s.sink_batch, within=s.sink_flush_seconds):
            rows = [ReviewClassified.model_validate_json(ev.value) for ev in events]
            n = await run(deps.store.write_reviews, rows)
            log.debug("reviews: %d received, %d new", len(rows), n)

    @app.agent(sa.events, name="sink-ticket-events")
    async def sink_ticket_events(stream):
        async for events in stream.take_events(s.sink_batch, within=s.sink_flush_seconds):
            rows = [TicketEventEnvelope.model_validate_json(ev.value) for ev in events]
            await run(deps.store.write_ticket_events, rows)

    @app.agent(sa.ticket_state, name="sink-ticket-state")
    async def sink_ticket_state(stream):
        async for events in stream.take_events(s.sink_batch, within=s.sink_flush_seconds):
            await run(deps.store.write_ticket_states, [orjson.loads(ev.value) for ev in events])

    @app.agent(sa.dead_letters, name="sink-dead-letters")
    async def sink_dead_letters(stream):
        async for events in stream.take_events(s.sink_batch, within=s.sink_flush_seconds):
            rows = []
            for ev in events:
                try:
                    rows.append((DeadLetter.model_validate_json(ev.value), ev.message.partition, ev.message.offset))
                except ValueError:
                    log.error("unreadable dead letter at %s@%s kept in Kafka only", ev.message.partition, ev.message.offset)
            await run(deps.store.write_dead_letters, rows)
