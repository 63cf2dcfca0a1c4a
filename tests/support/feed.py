"""A producer that plays the terminals: it sends submissions in their order at a steady pace, on a
thread of its own, and rides out broker outages as a terminal does (what was not acknowledged is
sent again; a copy of a review is dropped downstream by its id)."""

from __future__ import annotations

import asyncio
import threading
import time

from aiokafka.errors import KafkaError

from apps.simulate.traffic import Submission
from haocha.adapters.kafka import producer
from haocha.settings import Settings
from schemas.topics import REVIEWS_SUBMITTED


class Feed(threading.Thread):
    """`acked`: how many submissions Kafka has acknowledged, in order; `limit`: how far it may send
    for now (the test moves it); `resent`: chunks sent again after a failure. A chunk is sent only once every earlier one is acknowledged, and the
    idempotent producer fails the rest of a partition's batches after a lost one, so the first copy
    of each message in the log keeps the terminals' order (the counting rules depend on it)."""

    def __init__(self, settings: Settings, subs: list[Submission], rate: float, chunk: int = 500):
        super().__init__(daemon=True, name="feed")
        self.settings, self.subs, self.rate, self.chunk = settings, subs, rate, chunk
        self.acked = 0
        self.limit = len(subs)  # sends up to here, then waits until it is raised
        self.resent = 0
        self.halted = False  # set by halt(): stop sending (a test that failed midway)
        self.failures: list[str] = []
        self.error: BaseException | None = None
        self.started_at = self.finished_at = 0.0

    def run(self) -> None:
        try:
            asyncio.run(self._feed())
        except BaseException as exc:  # the test thread reports it
            self.error = exc

    def halt(self) -> None:
        self.halted = True
        self.join(60)

    async def _feed(self) -> None:
        topic = self.settings.topic(REVIEWS_SUBMITTED.name)
        self.started_at = time.monotonic()
        out = None
        try:
            due = self.started_at
            while self.acked < len(self.subs) and not self.halted:
                if self.acked >= self.limit:
                    await asyncio.sleep(0.05)
                    continue
                due = max(due, time.monotonic() - 1.0)  # after a pause or an outage: a short burst, then the pace
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                part = self.subs[self.acked:min(self.acked + self.chunk, self.limit)]
                try:
                    if out is None:
                        out = producer(self.settings, linger_ms=5)
                        await out.start()
                    futures = [await out.send(topic, value=s.value, key=s.key) for s in part]
                    # every outcome known before deciding: nothing of this chunk is still in flight
                    # when it is sent again
                    lost = [r for r in await asyncio.gather(*futures, return_exceptions=True) if isinstance(r, Exception)]
                    if lost:
                        raise lost[0]
                except KafkaError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    self.resent += 1
                    out = await _drop(out)
                    await asyncio.sleep(1.0)
                    continue
                self.acked += len(part)
                due += len(part) / self.rate
        finally:
            await _drop(out)
        self.finished_at = time.monotonic()


async def _drop(out):
    if out is not None:
        try:
            await out.stop()
        except KafkaError:
            pass  # the broker is away: nothing left to flush that matters, the chunk is sent again
    return None
