"""Sinks: the review history, ticket events and dead letters into ClickHouse, in batches.

A batch is written (only the rows not yet stored) before its offsets are acknowledged, so a crash
means the batch is written again and nothing is added twice. The embedded engine is called from
one thread; the event loop does not block on it.
"""

from __future__ import annotations

import asyncio
import logging

from sinks import rows
from sinks.rows import TopicRows
from streams.app import fail_stop, StreamApp
from streams.crashpoints import declare, reached

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 6  # about 30 s of backoff
# After the insert, before the ack (streams/crashpoints.py; tests/integration/test_crash_points.py).
REVIEWS_WRITTEN, EVENTS_WRITTEN, STATES_WRITTEN, DEAD_LETTERS_WRITTEN = (
    "sink.reviews.written", "sink.ticket_events.written", "sink.ticket_state.written", "sink.dead_letters.written")
declare(REVIEWS_WRITTEN, EVENTS_WRITTEN, STATES_WRITTEN, DEAD_LETTERS_WRITTEN)


def register(sa: StreamApp) -> None:
    app, deps = sa.app, sa.deps
    s = deps.settings
    pool = deps.store_executor

    async def run(fn, *args):
        # Writes are idempotent, so a transient ClickHouse fault is retried; one that lasts
        # stops the worker (fail_stop) with the batch still uncommitted in Kafka.
        delay = 0.5
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
            except Exception as exc:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
                log.warning("ClickHouse write failed (%s); retry %d in %.1f s", exc, attempt + 1, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def write(history: TopicRows, events) -> int:
        return await run(history.write, deps.store, history.parse([ev.message for ev in events]))

    @app.agent(sa.classified, name="sink-reviews")
    async def sink_reviews(stream):
        # The one consumer of the classified reviews: the rows go to ClickHouse (in the store's
        # thread) while the hooks (alerts) work on the same batch; the batch is acked when both are
        # done. The hooks read the rows the sink parsed (sinks.rows.REVIEWS: the reviews' JSON).
        async for events in stream.take_events(s.sink_batch, within=s.sink_flush_seconds):
            with fail_stop("sink-reviews"):
                docs = rows.REVIEWS.parse([ev.message for ev in events])
                written = asyncio.ensure_future(run(rows.REVIEWS.write, deps.store, docs))
                try:
                    for hook in sa.on_classified:
                        await hook(events, docs)
                finally:
                    n = await written
                log.debug("reviews: %d received, %d new", len(docs), n)
                reached(REVIEWS_WRITTEN)

    @app.agent(sa.events, name="sink-ticket-events")
    async def sink_ticket_events(stream):
        async for events in stream.take_events(s.sink_batch, within=s.sink_flush_seconds):
            with fail_stop("sink-ticket-events"):
                await write(rows.TICKET_EVENTS, events)
                reached(EVENTS_WRITTEN)

    @app.agent(sa.ticket_state, name="sink-ticket-state")
    async def sink_ticket_state(stream):
        async for events in stream.take_events(s.sink_batch, within=s.sink_flush_seconds):
            with fail_stop("sink-ticket-state"):
                await write(rows.TICKET_STATE, events)
                reached(STATES_WRITTEN)

    @app.agent(sa.dead_letters, name="sink-dead-letters")
    async def sink_dead_letters(stream):
        async for events in stream.take_events(s.sink_batch, within=s.sink_flush_seconds):
            with fail_stop("sink-dead-letters"):
                await write(rows.DEAD_LETTERS, events)
                reached(DEAD_LETTERS_WRITTEN)
