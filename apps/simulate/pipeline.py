"""Waiting for the worker: the pipeline has caught up when its consumer group has committed
everything on every topic it reads."""

from __future__ import annotations

import asyncio
import time

from haocha.adapters.kafka import group_lag
from haocha.settings import Settings
from schemas import topics as t

PIPELINE = (t.REVIEWS_SUBMITTED, t.REVIEWS_ACCEPTED, t.REVIEWS_CLASSIFIED, t.TICKET_COMMANDS,
            t.TICKET_EVENTS, t.TICKET_STATE, t.DEAD_LETTERS)


async def wait_caught_up(settings: Settings, timeout: float = 600.0, on_progress=None, settle: int = 2) -> float:
    """Block until the worker's lag is zero on every pipeline topic `settle` times in a row."""
    names = [settings.topic(s.name) for s in PIPELINE]
    start = time.monotonic()
    zero_streak = 0
    while True:
        lag = await group_lag(settings, settings.app_id, names)
        total = sum(lag.values())
        if on_progress:
            on_progress(lag)
        zero_streak = zero_streak + 1 if total == 0 else 0
        if zero_streak >= settle:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"the worker did not catch up in {timeout:.0f}s; lag: {lag}")
        await asyncio.sleep(0.5)
