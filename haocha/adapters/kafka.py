"""Kafka outside the worker: the one factory of aiokafka clients, and the small helpers built on it
(bulk produce and the batch hops' `Emitter`, read a topic, consumer-group lag, topic creation). Faust
builds its own clients."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from functools import lru_cache
from itertools import count

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

from haocha.settings import Settings
from schemas.topics import ALL

# aiokafka's own default, stated so every client shows the same bound on one request.
REQUEST_TIMEOUT_MS = 40_000


def producer(settings: Settings, **overrides) -> AIOKafkaProducer:
    """acks=all + idempotence: an acknowledged message survives a broker failover, and a retry
    after a lost acknowledgement never writes it twice."""
    return AIOKafkaProducer(**{"bootstrap_servers": settings.kafka_bootstrap, "acks": "all",
                               "enable_idempotence": True, "request_timeout_ms": REQUEST_TIMEOUT_MS,
                               **overrides})


def consumer(settings: Settings, *topics: str, **overrides) -> AIOKafkaConsumer:
    """No automatic commits unless asked: a reader outside the worker either keeps no position
    (group-less) or commits only what it has finished with."""
    return AIOKafkaConsumer(*topics, **{"bootstrap_servers": settings.kafka_bootstrap, "enable_auto_commit": False,
                                        "request_timeout_ms": REQUEST_TIMEOUT_MS, **overrides})


def admin(settings: Settings, **overrides) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**{"bootstrap_servers": settings.kafka_bootstrap,
                                  "request_timeout_ms": REQUEST_TIMEOUT_MS, **overrides})


@lru_cache(maxsize=65536)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java, aiokafka, Faust) picks for a key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


# One record batch per partition per hop batch (or `produce_all` round): 512 KB stays under the
# broker's 1 MB message.max.bytes; no linger, since `delivered()` hands over whole batches, all
# queued before the producer's sender runs, and a linger would only delay each of a batch's deliveries.
PRODUCER_OPTIONS = dict(linger_ms=0, max_batch_size=512 * 1024, max_request_size=8 * 1024 * 1024)


class Emitter:
    """What one batch emits: records appended straight into one producer record batch per topic
    partition (no per-record coroutine, future or partitioner call), sent by `delivered()`, the
    record batches filled before that by `send_full()` if the caller hands them over early."""

    def __init__(self, producer: AIOKafkaProducer, partitions: dict[str, int]):
        self._producer = producer
        self._partitions = partitions
        self._open: dict[tuple[str, int], object] = {}
        self._full: list[tuple[str, int, object]] = []
        self._sent: list[tuple[str, int, object, asyncio.Future]] = []  # handed over by send_full, not delivered yet
        self._spread = count()

    def send(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None) -> int:
        if partition is None:
            n = self._partitions[topic]
            partition = partition_for(key, n) if key else next(self._spread) % n
        tp = (topic, partition)
        batch = self._open.get(tp)
        if batch is None:
            batch = self._open[tp] = self._producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None) is None:
            self._full.append((topic, partition, batch))
            batch = self._open[tp] = self._producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:
                raise ValueError(f"a record of {len(value)} bytes does not fit a producer batch ({topic})")
        return partition

    def send_all(self, topic: str, partition: int, records: Iterable[tuple[bytes | None, bytes]]) -> None:
        """`send` for many records of one topic partition."""
        tp = (topic, partition)
        batch = self._open.get(tp)
        if batch is None:
            batch = self._open[tp] = self._producer.create_batch()
        append = batch.append
        for key, value in records:
            if append(key=key, value=value, timestamp=None) is None:
                self._full.append((topic, partition, batch))
                batch = self._open[tp] = self._producer.create_batch()
                append = batch.append
                if append(key=key, value=value, timestamp=None) is None:
                    raise ValueError(f"a record of {len(value)} bytes does not fit a producer batch ({topic})")

    def __len__(self) -> int:
        return len(self._full) + len(self._open) + len(self._sent)

    async def send_full(self) -> int:
        """Hand the record batches filled so far to the producer without waiting for Kafka, so the
        broker stores them while the caller goes on emitting; `delivered()` waits for them with the
        rest. A partition's records stay in the order they were emitted. Returns how many went:
        the producer's sender sends them once the caller yields to the loop."""
        full, self._full = self._full, []
        for t, p, b in full:
            self._sent.append((t, p, b, await self._producer.send_batch(b, t, partition=p)))
        return len(full)

    async def delivered(self) -> dict[tuple[str, int], int]:
        """Send everything emitted so far and wait until Kafka has it (the first failure raises).
        Returns, per (topic, partition), the offset after the last record written."""
        self._full += [(t, p, b) for (t, p), b in self._open.items()]
        self._open = {}
        await self.send_full()
        sent, self._sent = self._sent, []
        if not sent:
            return {}
        metas = await asyncio.gather(*(f for _, _, _, f in sent))
        ends: dict[tuple[str, int], int] = {}
        for (t, p, b, _), meta in zip(sent, metas):
            ends[(t, p)] = max(ends.get((t, p), 0), meta.offset + b.record_count())
        return ends


async def produce_all(settings: Settings, topic: str, messages: Iterable[tuple[bytes | None, bytes]],
                      on_progress=None, every: int = 1000) -> int:
    """Send every message and wait until Kafka has acknowledged all of them (acks=all), `every`
    messages at a time. Keyed messages go where the default partitioner puts them, unkeyed ones
    round robin. Through an `Emitter`: aiokafka's `send` costs a coroutine, a future and a
    partitioner call per record (~20 us of Python; the bench's terminals took a tenth of the
    machine while the pipeline worked)."""
    out = producer(settings, **PRODUCER_OPTIONS)
    await out.start()
    n = 0
    try:
        emitter = Emitter(out, {topic: len(await out.partitions_for(topic))})
        for key, value in messages:
            emitter.send(topic, key, value)
            n += 1
            if n % every == 0:
                await emitter.delivered()
                if on_progress:
                    on_progress(n)
        await emitter.delivered()
        if on_progress:
            on_progress(n)
    finally:
        await out.stop()
    return n


async def stop_tail(task: asyncio.Task | None, reader: AIOKafkaConsumer | None) -> None:
    """Stop a background task that reads a topic, then its consumer; its errors are moot by now."""
    if task:
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
    if reader:
        await reader.stop()


async def group_lag(settings: Settings, group: str, topics: list[str]) -> dict[str, int]:
    """Messages not yet committed by `group`, per topic (end offset minus committed offset)."""
    client = admin(settings)
    reader = consumer(settings)
    await client.start()
    await reader.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in (reader.partitions_for_topic(t) or await _parts(reader, t))]
        ends = await reader.end_offsets(tps)
        committed = await client.list_consumer_group_offsets(group, partitions=tps)
        lag: dict[str, int] = {t: 0 for t in topics}
        for tp in tps:
            meta = committed.get(tp)
            done = meta.offset if meta is not None and meta.offset >= 0 else 0
            lag[tp.topic] += max(0, ends[tp] - done)
        return lag
    finally:
        await reader.stop()
        await client.close()


async def _parts(reader: AIOKafkaConsumer, topic: str) -> set[int]:
    await reader._client.force_metadata_update()
    return reader.partitions_for_topic(topic) or set()


async def partitions(reader: AIOKafkaConsumer, topic: str) -> list[int]:
    """The topic's partitions; a fresh consumer has no metadata for it until asked."""
    for _ in range(50):
        parts = reader.partitions_for_topic(topic)
        if parts:
            return list(parts)
        await reader._client.force_metadata_update()  # noqa: SLF001 - aiokafka has no public refresh
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {topic} does not exist: run `haocha topics create`")


async def read_all(settings: Settings, topic: str, timeout: float = 10.0) -> list:
    """Every message currently in a topic (tests and tools; not for the hot path)."""
    reader = consumer(settings, auto_offset_reset="earliest")
    await reader.start()
    try:
        parts = await _parts(reader, topic)
        tps = [TopicPartition(topic, p) for p in parts]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ends = await reader.end_offsets(tps)
        out = []
        deadline = asyncio.get_running_loop().time() + timeout
        while [tp for tp in tps if await reader.position(tp) < ends[tp]]:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end in {timeout}s")
            batch = await reader.getmany(timeout_ms=500)
            for msgs in batch.values():
                out.extend(msgs)
        return out
    finally:
        await reader.stop()


async def ensure_topics(settings: Settings, specs=ALL, timeout: float = 60.0) -> list[str]:
    """Create missing topics; return the names created. Safe to run any number of times."""
    client = admin(settings, request_timeout_ms=30000)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await client.start()
            break
        except Exception as exc:  # the broker may still be starting
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"Kafka at {settings.kafka_bootstrap} is not reachable: {exc}") from exc
            await asyncio.sleep(1)
    try:
        existing = set(await client.list_topics())
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
                await client.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
        return [t.name for t in wanted]
    finally:
        await client.close()


async def delete_topics_of(settings: Settings) -> int:
    """Delete the topics of one deployment's prefix and its app id's (Faust's changelogs): for runs
    that are over (benches, tests). A broker that keeps every run's topics gets slower run after
    run: thousands of partitions on one broker, and every client's metadata carries them all."""
    prefixes = tuple({f"{settings.topic_prefix}.", f"{settings.app_id}-"})
    client = admin(settings, request_timeout_ms=30000)
    try:
        await client.start()
        mine = [t for t in await client.list_topics() if t.startswith(prefixes)]
        if mine:
            await client.delete_topics(mine)
        return len(mine)
    finally:
        await client.close()
