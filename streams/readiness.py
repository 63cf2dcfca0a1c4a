"""What a starting worker is waiting for, said in its log until it is ready: its partitions
(the consumer group's assignment) or its tables (changelog records still to read). A restart after
a crash is otherwise a silent stretch of 503s.

    waiting for partition assignment (consumer group haocha, static member web-1-3f2a9c1d)
    recovering table tickets: 3,800 of 5,000 changelog records
    ready after 5.7 s: partitions assigned, tables recovered
"""

from __future__ import annotations

import logging
import time

from mode import Service

from streams.app import StreamApp

log = logging.getLogger("haocha.readiness")
EVERY = 2.0  # seconds between two lines while waiting


def waiting_for(sa: StreamApp) -> list[str]:
    """Why the worker is not ready yet; empty when it is. Ready is the ticket hop's: its partitions
    assigned and their ticket table restored (what the API reads a ticket's state from)."""
    tickets = sa.hops.hops.tickets if sa.hops is not None else None
    if tickets is None:
        return ["connecting to Kafka"]
    table = sa.tickets
    if table.restoring_started:
        if table.restoring is None:
            return ["recovering tables: reading changelog end offsets"]
        done, total = table.restoring
        return [f"recovering table tickets: {done:,} of {total:,} changelog records"]
    if not tickets.assignment:
        s = sa.deps.settings
        member = s.group_instance_id
        how = f"static member {member}" if member else "dynamic member"
        return [f"waiting for partition assignment (consumer group {s.app_id}, {how})"]
    return []


class Readiness(Service):
    """Started with the worker (`faust.Worker(app, Readiness(sa))`), beside the app."""

    def __init__(self, sa: StreamApp, **kwargs):
        super().__init__(**kwargs)
        self.sa = sa

    @Service.task
    async def _say_what_we_wait_for(self) -> None:
        since, was_ready = time.monotonic(), False
        while not self.should_stop:
            reasons = waiting_for(self.sa)
            if reasons:
                if was_ready:  # a rebalance later on: the wait starts again
                    since, was_ready = time.monotonic(), False
                for line in reasons:
                    log.info(line)
            elif not was_ready:
                log.info("ready after %.1f s: partitions assigned, tables recovered", time.monotonic() - since)
                was_ready = True
            await self.sleep(EVERY if reasons else EVERY / 4)
