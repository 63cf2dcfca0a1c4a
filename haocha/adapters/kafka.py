"""Small Kafka adapters for producers outside the worker: bulk produce, consumer-group lag."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from haocha.settings import Settings
from schemas.topics import ALL


async def produce_all(settings: Settings, topic: str, messages: Iterable[tuple[bytes | None, bytes]],
                      on_progress=None, every: int = 1000) -> int:
    """Send every message and wait until Kafka has acknowledged all of them (acks=all)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                enable_idempotence=True, linger_ms=10, max_batch_size=256 * 1024)
    await producer.start()
    n = 0
    try:
        pending = []
        for key, value in messages:
            pending.append(await producer.send(topic, value=value, key=key))
            n += 1
            if n % every == 0:
                await asyncio.gather(*pending)
                pending.clear()
                if on_progress:
                    on_progress(n)
        await asyncio.gather(*pending)
        if on_progress:
            on_progress(n)
    finally:
        await producer.stop()
    return n


async def stop_tail(task: asyncio.Task | None, consumer: AIOKafkaConsumer | None) -> None:
    """Stop a background task that reads a topic, then its consumer; its errors are moot by now."""
    if task:
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
    if consumer:
        await consumer.stop()


async def group_lag(settings: Settings, group: str, topics: list[str]) -> dict[str, int]:
    """Messages not yet committed by `group`, per topic (end offset minus committed offset)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or await _parts(consumer, t))]
        ends = await consumer.end_offsets(tps)
        committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        lag: dict[str, int] = {t: 0 for t in topics}
        for tp in tps:
            meta = committed.get(tp)
            done = meta.offset if meta is not None and meta.offset >= 0 else 0
            lag[tp.topic] += max(0, ends[tp] - done)
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def _parts(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()


async def read_all(settings: Settings, topic: str, timeout: float = 10.0) -> list:
    """Every message currently in a topic (tests and tools; not for the hot path)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        parts = await _parts(consumer, topic)
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out = []
        deadline = asyncio.get_running_loop().time() + timeout
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end in {timeout}s")
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                out.extend(msgs)
        return out
    finally:
        await consumer.stop()


async def ensure_topics(settings: Settings, specs=ALL, timeout: float = 60.0) -> list[str]:
    """Create missing topics; return the names created. Safe to run any number of times."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=30000)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await admin.start()
            break
        except Exception as exc:  # the broker may still be starting
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"Kafka at {settings.kafka_bootstrap} is not reachable: {exc}") from exc
            await asyncio.sleep(1)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=settings.topic(s.name),
                num_partitions=settings.partitions if s.partitioned else 1,
                replication_factor=settings.replication,
                topic_configs=s.config(),
            )
            for s in specs
            if settings.topic(s.name) not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
        return [t.name for t in wanted]
    finally:
        await admin.close()
