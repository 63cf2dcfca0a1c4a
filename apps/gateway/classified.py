"""Learn the stream's verdicts (reviews.classified) so a resend or a status query can report
一次一评 duplicates and repeat presses as the stream decided them."""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from haocha.adapters import kafka
from haocha.adapters.kafka import partitions, stop_tail
from apps.gateway.idempotency import IdempotencyStore
from haocha.settings import Settings
from schemas.topics import REVIEWS_CLASSIFIED

log = logging.getLogger(__name__)


class ClassifiedTail:
    def __init__(self, settings: Settings, store: IdempotencyStore, lookback_seconds: float):
        self.settings = settings
        self.topic = settings.topic(REVIEWS_CLASSIFIED.name)
        self.store = store
        self.lookback = lookback_seconds
        self._task: asyncio.Task | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="classified-tail")

    async def stop(self) -> None:
        await stop_tail(self._task, self._consumer)

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the verdicts are a convenience: never take the gateway down
                log.warning("classified tail: %s; retrying", exc)
                if self._consumer:
                    await self._consumer.stop()
                    self._consumer = None
                await asyncio.sleep(5)

    async def _follow(self) -> None:
        self._consumer = c = kafka.consumer(self.settings, group_id=None)
        await c.start()
        parts = await partitions(c, self.topic)
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        c.assign(tps)
        saved = self.store.offsets(self.topic)
        # First start: only verdicts young enough to concern ids we still remember.
        since = await c.offsets_for_times({tp: int((time.time() - self.lookback) * 1000) for tp in tps})
        end = await c.end_offsets(tps)
        for tp in tps:
            if tp.partition in saved:
                c.seek(tp, saved[tp.partition])
            else:
                found = since.get(tp)
                c.seek(tp, found.offset if found is not None else end[tp])
        while True:
            batch = await c.getmany(timeout_ms=1000, max_records=2000)
            verdicts = []
            for msgs in batch.values():
                for m in msgs:
                    try:
                        data = orjson.loads(m.value)
                        verdicts.append((data["review"]["review_id"], data["classification"], data.get("note", "")))
                    except Exception:
                        continue  # not ours to judge: the stream's own checks own that topic
            if batch:
                self.store.set_classifications(verdicts)
                self.store.save_offsets(self.topic, {tp.partition: msgs[-1].offset + 1 for tp, msgs in batch.items()})
