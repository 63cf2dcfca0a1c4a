"""Where the gateway publishes accepted reviews and dead letters: Kafka in production, memory in
unit tests. (A "sink" is the worker's ClickHouse writer; this is the log's front door.)"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from aiokafka import AIOKafkaProducer

from apps.gateway.errors import GatewayError
from haocha.adapters import kafka
from haocha.adapters.clock import Clock, SystemClock
from haocha.settings import Settings
from schemas.review import DeadLetter
from schemas.topics import DEAD_LETTERS, REVIEWS_SUBMITTED

log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def send_reviews(self, messages: list[tuple[bytes, bytes]]) -> None: ...
    async def dead_letter(self, letter: DeadLetter, key: bytes | None) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class KafkaPublisher:
    def __init__(self, settings: Settings, timeout: float, clock: Clock = SystemClock()):
        self.settings = settings
        self.reviews_topic = settings.topic(REVIEWS_SUBMITTED.name)
        self.dead_topic = settings.topic(DEAD_LETTERS.name)
        self.timeout = timeout
        self.clock = clock
        self.producer: AIOKafkaProducer | None = None  # made in start(): aiokafka binds it to the running loop

    async def start(self) -> None:
        # The factory's acks=all + idempotence (a 202 is never lost, never written twice), with this
        # gateway's wait bound. A short linger lets concurrent single posts share a request.
        self.producer = kafka.producer(self.settings, linger_ms=2, request_timeout_ms=int(self.timeout * 1000),
                                       max_request_size=8 * 1024 * 1024)
        deadline = time.monotonic() + 60
        while True:
            try:
                await self.producer.start()
                return
            except Exception as exc:  # the broker may still be starting
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kafka is not reachable: {exc}") from exc
                await asyncio.sleep(1)

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()

    async def send_reviews(self, messages: list[tuple[bytes, bytes]]) -> None:
        """Produce all and wait for every acknowledgement. The Kafka timestamp is the receive time,
        never the device time: a review delivered days late must not trip broker timestamp limits,
        and happened_at travels in the value."""
        now_ms = int(self.clock.now().timestamp() * 1000)

        async def produce() -> None:
            futures = [await self.producer.send(self.reviews_topic, value, key=key, timestamp_ms=now_ms)
                       for key, value in messages]
            await asyncio.gather(*futures)

        try:
            await asyncio.wait_for(produce(), self.timeout)
        except Exception as exc:
            log.error("produce failed: %s", exc or type(exc).__name__)
            raise GatewayError("unavailable", "the review log did not acknowledge in time; retry later",
                               headers={"Retry-After": "5"}) from exc

    async def dead_letter(self, letter: DeadLetter, key: bytes | None) -> None:
        try:
            await asyncio.wait_for(
                self.producer.send_and_wait(self.dead_topic, letter.model_dump_json().encode(), key=key),
                self.timeout)
        except Exception as exc:  # the refusal is answered anyway; the log line keeps the trace
            log.error("dead letter (%s) not written: %s", letter.reason, exc or type(exc).__name__)


class MemoryPublisher:
    """For unit tests and dry runs: keeps what would have been produced."""

    def __init__(self) -> None:
        self.reviews: list[tuple[bytes, bytes]] = []
        self.dead: list[DeadLetter] = []
        self.fail = False

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_reviews(self, messages: list[tuple[bytes, bytes]]) -> None:
        if self.fail:
            raise GatewayError("unavailable", "publisher down (test)", headers={"Retry-After": "5"})
        self.reviews.extend(messages)

    async def dead_letter(self, letter: DeadLetter, key: bytes | None) -> None:
        self.dead.append(letter)
