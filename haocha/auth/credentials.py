"""Slow-hash checks off the event loop: a small thread pool, a bound on how many may wait, and a
short memory of recent successes.

Why: one scrypt check costs ~50 ms of CPU. On the event loop, 200 requests with a wrong secret
stalled the worker for 22 s (health, the stream agents, everything). In two threads they cost the
same CPU but the loop stays free, and the bound turns a flood into quick refusals instead of a
queue minutes long.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from haocha.auth.tokens import hash_secret, verify_secret


class Busy(Exception):
    """More checks are waiting than the bound allows; the caller answers 429 and tries later."""


class CredentialChecker:
    def __init__(self, threads: int = 2, max_waiting: int = 32, cache_seconds: float = 60.0,
                 cache_size: int = 4096, monotonic=time.monotonic):
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="haocha-verify")
        self._max_waiting = max_waiting
        self._waiting = 0
        self.cache_seconds = cache_seconds
        self._cache_size = cache_size
        # key: SHA-256 of (stored hash, presented secret): a new stored hash (re-key, new password)
        # can never match an old entry, and the secret itself is never kept.
        self._recent: OrderedDict[str, float] = OrderedDict()
        self._monotonic = monotonic

    async def verify(self, secret: str, stored: str | None) -> bool:
        if not stored or not secret:
            return False
        key = hashlib.sha256(f"{stored}\0{secret}".encode()).hexdigest()
        now = self._monotonic()
        seen = self._recent.get(key)
        if seen is not None and now - seen < self.cache_seconds:
            return True
        ok = await self._run(verify_secret, secret, stored)
        if ok:
            self._recent[key] = now
            self._recent.move_to_end(key)
            while len(self._recent) > self._cache_size:
                self._recent.popitem(last=False)
        else:
            self._recent.pop(key, None)
        return ok

    async def hash(self, secret: str) -> str:
        return await self._run(hash_secret, secret)

    async def _run(self, fn, *args):
        if self._max_waiting and self._waiting >= self._max_waiting:
            raise Busy(f"{self._waiting} credential checks are waiting")
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._waiting -= 1

    def forget(self) -> None:
        self._recent.clear()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
