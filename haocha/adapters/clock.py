"""The clock port and its adapters. The domain never reads the time itself."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """For tests and simulations: time moves only when told."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at
