"""Waiting for the worker: the pipeline has caught up when each of its consumer groups (the review
hop, the ticket agent, the ClickHouse writer) has committed everything on every topic it reads."""

from __future__ import annotations

import asyncio
import time

from haocha.adapters.kafka import group_lag
from haocha.settings import Settings
from schemas import topics as t

def groups(settings: Settings) -> dict[str, list[str]]:
    """Consumer group -> the pipeline topics it reads."""
    name = settings.topic
    return {
        settings.review_group: [name(t.REVIEWS_SUBMITTED.name)],
        settings.app_id: [name(t.TICKET_COMMANDS.name)],
        settings.writer_group: [name(s.name) for s in (t.REVIEWS_CLASSIFIED, t.TICKET_EVENTS, t.TICKET_STATE,
                                                        t.DEAD_LETTERS, t.ALERTS)],
    }


async def pipeline_lag(settings: Settings) -> dict[str, int]:
    lag: dict[str, int] = {}
    for group, topics in groups(settings).items():
        lag.update(await group_lag(settings, group, topics))
    return lag


async def wait_caught_up(settings: Settings, timeout: float = 600.0, on_progress=None, settle: int = 2) -> float:
    """Block until the worker's lag is zero on every pipeline topic `settle` times in a row."""
    start = time.monotonic()
    zero_streak = 0
    while True:
        lag = await pipeline_lag(settings)
        total = sum(lag.values())
        if on_progress:
            on_progress(lag)
        zero_streak = zero_streak + 1 if total == 0 else 0
        if zero_streak >= settle:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"the worker did not catch up in {timeout:.0f}s; lag: {lag}")
        await asyncio.sleep(0.5)
