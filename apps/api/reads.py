"""Every read the API makes of the store goes through here: on the store's own thread (the event
loop never runs a query or builds a report) and at most `limit` at a time.

The store's thread is shared with the stream agents' sink writes and serves callers in order, so a
flood of API reads handed to it at once would queue ahead of the agents' next write. Bounded here,
the flood waits on the loop (cheaply, a semaphore), and a sink write waits for the reads in
flight only; /health needs no read at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any


class StoreReads:
    def __init__(self, executor: Executor, limit: int = 2):
        self.executor = executor
        self._slots = asyncio.Semaphore(limit)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
