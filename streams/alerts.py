"""Real-time alerts: every counted review updates the hopping windows of its service window; a
window that crosses the spike rule raises one SpikeDetected on the alerts topic.

Counts live in a changelog-backed Faust table keyed `<window id>@<window start>`. Faust's own
windowed tables evaluate only the newest window containing an event (`current()`), which misses a
spike that builds up across a step boundary; the pure `observe` sees every window the review is in.
Windows are by when the review happened, so an offline pad's late reviews land where they belong.
"""

from __future__ import annotations

import asyncio
import logging

import orjson

from haocha.domain.alerts import SpikeRule, observe, windows_of
from schemas.alerts import AlertEnvelope, SpikeDetected
from schemas.review import ReviewClassified
from streams.app import fail_stop, StreamApp, as_current, delivered

log = logging.getLogger(__name__)


def register(sa: StreamApp) -> None:
    app, deps = sa.app, sa.deps
    s = deps.settings
    rule = SpikeRule()
    counts = app.Table("window-health", default=None, partitions=s.partitions, key_type=str, value_type=None)
    sa.window_health = counts

    @app.agent(sa.classified, name="alerts")
    async def watch(stream):
        async for events in stream.take_events(s.review_batch, within=0.2):
            with fail_stop("alerts"):
                futures = []
                for ev in events:
                    c = ReviewClassified.model_validate_json(ev.value)
                    if not c.counted:
                        continue
                    r = c.review
                    as_current(ev)
                    for start, end in windows_of(r.happened_at, rule):
                        key = f"{r.window_id}@{start.isoformat()}"
                        new, spike = observe(counts.get(key), r.review_id, r.is_bad, rule)
                        counts[key] = new
                        if spike:
                            alert = SpikeDetected(
                                alert_id=key, hall_id=r.hall_id, window_id=r.window_id, department_id=c.department_id,
                                window_start=start, window_end=end, reviews=new["reviews"], bad=new["bad"],
                                detected_at=deps.clock.now(),
                            )
                            log.warning("bad-review spike at %s: %d of %d bad in %s–%s", r.window_id, new["bad"],
                                        new["reviews"], start, end)
                            futures.append(await sa.alerts.send(
                                key=r.window_id.encode(), value=AlertEnvelope(event=alert).model_dump_json().encode()))
                await delivered(futures)

    @app.agent(sa.alerts, name="sink-alerts")
    async def sink_alerts(stream):
        async for events in stream.take_events(s.sink_batch, within=s.sink_flush_seconds):
            with fail_stop("sink-alerts"):
                envs = [AlertEnvelope.model_validate(orjson.loads(ev.value)) for ev in events]
                await asyncio.get_running_loop().run_in_executor(sa.store_executor, deps.store.write_alert_events, envs)
