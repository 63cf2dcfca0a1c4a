"""Real-time alerts: every counted review updates the hopping windows of its service window; a
window that crosses the spike rule raises one SpikeDetected on the alerts topic.

Counts live in a changelog-backed Faust table keyed `<window id>@<window start>`. Faust's own
windowed tables evaluate only the newest window containing an event (`current()`), which misses a
spike that builds up across a step boundary; the pure `observe` sees every window the review is in.
Windows are by when the review happened, so an offline pad's late reviews land where they belong.

No agent of its own: the review sink's agent, the one consumer of the classified reviews, hands each
batch (already decoded with orjson) to `on_classified` (docs/performance.md). Counts are staged per
batch and each window written once per batch (`write_table`), after the batch's alerts are in Kafka.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from haocha.domain.alerts import SpikeRule, observe, windows_of
from schemas.alerts import AlertEnvelope, SpikeDetected
from schemas.review import BAD_RATINGS
from sinks import rows
from streams.app import Outbox, StreamApp, as_current, fail_stop, write_table
from streams.crashpoints import declare, reached

log = logging.getLogger(__name__)
# Between the steps of a batch (streams/crashpoints.py; tests/integration/test_crash_points.py).
ALERTS_DELIVERED, COUNTS_WRITTEN, COUNTS_DELIVERED, SINK_ALERTS_WRITTEN = (
    "alerts.delivered", "alerts.counts_written", "alerts.counts_delivered", "sink.alerts.written")
declare(ALERTS_DELIVERED, COUNTS_WRITTEN, COUNTS_DELIVERED, SINK_ALERTS_WRITTEN)


def spike_line(window_id: str, bad: int, reviews: int, start: datetime, end: datetime, tz: str) -> str:
    """Windows are computed in UTC; people read the hall's local time (settings.timezone)."""
    zone = ZoneInfo(tz)
    return (f"bad-review spike at {window_id}: {bad} of {reviews} bad in "
            f"{start.astimezone(zone).isoformat(timespec='seconds')} – {end.astimezone(zone):%H:%M:%S}")


def register(sa: StreamApp) -> None:
    app, deps = sa.app, sa.deps
    s = deps.settings
    rule = SpikeRule()
    counts = app.Table("window-health", default=None, partitions=s.partitions, key_type=str, value_type=None)
    alerts_topic = sa.alerts.get_topic_name()

    async def on_classified(events: list, docs: list[dict]) -> None:
        """One batch of classified reviews (in partition order): update the windows, raise spikes.

        The alerts go to Kafka before the counts that remember them (`alerted`): a crash in between
        raises them again from the older counts, with the same alert id, which the sink drops."""
        staged: dict[str, tuple[Any, Any]] = {}  # window key -> (counts, last event that changed it)
        out = Outbox(app)
        for ev, c in zip(events, docs):
            if not c["counted"]:
                continue
            r = c["review"]
            window_id, review_id = r["window_id"], r["review_id"]
            bad = r["rating"] in BAD_RATINGS
            read = False
            for start, end in windows_of(datetime.fromisoformat(r["happened_at"]), rule):
                key = f"{window_id}@{start.isoformat()}"
                got = staged.get(key)
                if got is None:
                    if not read:
                        as_current(ev)  # the store reads from this event's partition
                        read = True
                    old = counts.get(key)
                else:
                    old = got[0]
                new, spike = observe(old, review_id, bad, rule)
                if new != old:
                    staged[key] = (new, ev)
                if spike:
                    alert = SpikeDetected(
                        alert_id=key, hall_id=r["hall_id"], window_id=window_id, department_id=c["department_id"],
                        window_start=start, window_end=end, reviews=new["reviews"], bad=new["bad"],
                        detected_at=deps.clock.now(),
                    )
                    log.warning(spike_line(window_id, new["bad"], new["reviews"], start, end, s.timezone))
                    await out.send(alerts_topic, window_id.encode(), AlertEnvelope(event=alert).model_dump_json().encode())
        await out.delivered()  # the alerts first ...
        reached(ALERTS_DELIVERED)
        if staged:
            await write_table(counts, staged, out)  # ... then the counts (changelogs) that remember them
            reached(COUNTS_WRITTEN)
            await out.delivered()
            reached(COUNTS_DELIVERED)

    sa.on_classified.append(on_classified)

    @app.agent(sa.alerts, name="sink-alerts")
    async def sink_alerts(stream):
        async for events in stream.take_events(s.sink_batch, within=s.sink_flush_seconds):
            with fail_stop("sink-alerts"):
                envs = rows.ALERTS.parse([ev.message for ev in events])
                await asyncio.get_running_loop().run_in_executor(deps.store_executor, rows.ALERTS.write, deps.store, envs)
                reached(SINK_ALERTS_WRITTEN)
