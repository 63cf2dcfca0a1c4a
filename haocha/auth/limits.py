"""Failed sign-ins counted per key (a user id, a client address) over a sliding window.

Checked before any hash work, so a blocked caller costs a dictionary lookup. The table is bounded:
an attacker inventing user ids pushes out the oldest entries, never the worker's memory.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque


class FailureLimiter:
    def __init__(self, max_failures: int, window_seconds: float, max_keys: int = 10_000,
                 monotonic=time.monotonic):
        self.max_failures = max_failures
        self.window = window_seconds
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._monotonic = monotonic

    def retry_after(self, key: str) -> int | None:
        """Seconds until `key` may try again, or None if it may now."""
        q = self._fresh(key)
        if q is None or len(q) < self.max_failures:
            return None
        return max(1, math.ceil(q[-self.max_failures] + self.window - self._monotonic()))

    def failed(self, key: str) -> None:
        q = self._fresh(key)
        if q is None:
            q = self._failures[key] = deque(maxlen=self.max_failures)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)
        q.append(self._monotonic())
        self._failures.move_to_end(key)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)

    def _fresh(self, key: str) -> deque[float] | None:
        q = self._failures.get(key)
        if q is None:
            return None
        cutoff = self._monotonic() - self.window
        while q and q[0] <= cutoff:
            q.popleft()
        if not q:
            del self._failures[key]
            return None
        return q
