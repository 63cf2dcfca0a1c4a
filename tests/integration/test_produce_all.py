"""`produce_all` on the real broker: every message acknowledged once, keyed ones in the partition
Kafka's default partitioner gives their key (where a Java or Faust producer would put them), in
their order, unkeyed ones spread; more messages than one round and than one record batch holds."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

import pytest

from haocha.adapters import kafka
from haocha.adapters.kafka import partition_for, produce_all, read_all
from schemas.topics import REVIEWS_SUBMITTED

pytestmark = pytest.mark.integration


def test_every_message_lands_once_where_its_key_says(make_settings):
    s = make_settings()
    topic = s.topic(REVIEWS_SUBMITTED.name)
    keyed = [(f"H-{i % 7}".encode(), f'{{"n":{i},"pad":"{"x" * 300}"}}'.encode()) for i in range(5_000)]
    unkeyed = [(None, f'{{"u":{i}}}'.encode()) for i in range(240)]
    progress: list[int] = []

    sent = asyncio.run(produce_all(s, topic, keyed + unkeyed, on_progress=progress.append, every=1_000))

    assert sent == len(keyed) + len(unkeyed)
    assert progress == [1000, 2000, 3000, 4000, 5000, 5240]
    got = asyncio.run(read_all(s, topic))
    assert Counter(m.value for m in got) == Counter(v for _, v in keyed + unkeyed)
    parts = len({m.partition for m in got})
    per_key = defaultdict(list)
    for m in sorted(got, key=lambda m: (m.partition, m.offset)):
        if m.key is not None:
            assert m.partition == partition_for(m.key, s.partitions)
            per_key[m.key].append(m.value)
    assert all(per_key[k] == [v for kk, v in keyed if kk == k] for k in per_key)
    unkeyed_parts = Counter(m.partition for m in got if m.key is None)
    assert len(unkeyed_parts) == s.partitions and max(unkeyed_parts.values()) == 240 // s.partitions
    assert parts == s.partitions


def test_batches_handed_over_early_are_delivered_in_order_with_the_rest(make_settings):
    """The review hop hands its filled record batches to the producer while it goes on emitting
    (`Emitter.send_full`); `delivered()` then waits for those and the rest, and its end offsets
    count them all."""
    s = make_settings()
    topic = s.topic(REVIEWS_SUBMITTED.name)
    values = [f'{{"n":{i},"pad":"{"y" * 1000}"}}'.encode() for i in range(3_000)]  # ~3 MB: several 512 KB batches

    async def emit() -> tuple[int, list[int], dict]:
        producer = kafka.producer(s, **kafka.PRODUCER_OPTIONS)
        await producer.start()
        try:
            last = len(await producer.partitions_for(topic)) - 1
            out = kafka.Emitter(producer, {topic: last + 1})
            handed = []
            for i, value in enumerate(values, start=1):
                out.send(topic, b"H-1", value, partition=last)
                if i % 500 == 0:
                    handed.append(await out.send_full())
                    await asyncio.sleep(0)
            return last, handed, await out.delivered()
        finally:
            await producer.stop()

    last, handed, ends = asyncio.run(emit())

    assert sum(handed) >= 4  # filled batches went before the end, not all at delivered()
    assert ends == {(topic, last): len(values)}
    got = sorted((m for m in asyncio.run(read_all(s, topic)) if m.partition == last), key=lambda m: m.offset)
    assert [m.value for m in got] == values
