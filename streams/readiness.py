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
from collections import Counter

from mode import Service

from streams.app import StreamApp

log = logging.getLogger("haocha.readiness")
EVERY = 2.0  # seconds between two lines while waiting


def waiting_for(sa: StreamApp) -> list[str]:
    """Why the worker is not ready yet; empty when it is."""
    app = sa.app
    recovery = app.tables.recovery
    if getattr(app, "in_recovery", False):
        tables = {t.changelog_topic.get_topic_name(): name for name, t in app.tables.items()}
        done, total = Counter(), Counter()
        for tp, high in recovery.active_highwaters.items():
            offset = recovery.active_offsets.get(tp)
            if high is None or offset is None or high < 0:
                continue
            name = tables.get(tp.topic, tp.topic)
            total[name] += high + 1
            done[name] += min(high + 1, max(offset + 1, 0))
        lines = [f"recovering table {name}: {done[name]:,} of {total[name]:,} changelog records"
                 for name in sorted(total) if done[name] < total[name]]
        return lines or ["recovering tables: reading changelog end offsets"]
    try:
        assigned = bool(app.consumer.assignment())
    except Exception:  # Faust's consumer thread is not up yet
        return ["connecting to Kafka"]
    if app.rebalancing or not assigned:
        member = sa.deps.settings.group_instance_id
        how = f"static member {member}" if member else "dynamic member"
        return [f"waiting for partition assignment (consumer group {app.conf.id}, {how})"]
    if not recovery.completed.is_set():
        return ["recovering tables: reading changelog end offsets"]
    return []


class Readiness(Service):
    """Started with the worker (`faust.Worker(app, Readiness(sa))`), not as an app task: those
    start only once the tables are recovered, which is what this reports on."""

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
