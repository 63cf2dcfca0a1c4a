"""The writer's batch window (streams/clickhouse_writer.py): `sink_flush_seconds` at a light load,
longer while inserts take more than a quarter of it, never over `sink_flush_max_seconds`; and a
batch ends early when the stream pauses (streams/kafka_batch.py, `idle_seconds`)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from aiokafka import TopicPartition

from haocha.settings import Settings
from streams.clickhouse_writer import INSERT_SHARE, ClickHouseWriter, idle_seconds, next_window
from streams.kafka_batch import BatchConsumer
from tests.unit.streams.test_writer_batches import FakeStore


def test_the_window_is_the_base_until_inserts_take_a_quarter_of_it_then_grows_to_the_cap():
    assert INSERT_SHARE == 0.25
    assert next_window(1.0, 4.0, 0.0) == 1.0
    assert next_window(1.0, 4.0, 0.2) == 1.0  # a light load: the store stays ~1 s behind
    assert next_window(1.0, 4.0, 0.5) == 2.0
    assert next_window(1.0, 4.0, 3.0) == 4.0  # capped
    assert next_window(2.0, 1.0, 3.0) == 2.0  # a cap under the base: the base


class SlowHistory:
    def __init__(self, seconds: float):
        self.seconds = seconds

    def parse(self, records):
        return records

    def write(self, store, items):
        time.sleep(self.seconds)
        return len(items)


class Record:
    def __init__(self, offset: int):
        self.offset, self.value = offset, b"{}"


async def test_a_slow_insert_widens_the_next_window_and_a_quick_one_narrows_it_again(tmp_path):
    s = Settings(data_dir=tmp_path, sink_flush_seconds=0.2, sink_flush_max_seconds=2.0)
    w = ClickHouseWriter(s, FakeStore(), ThreadPoolExecutor(1))
    tp = TopicPartition(s.topic("reviews.classified"), 0)
    assert w.window() == 0.2
    w.history = {tp.topic: SlowHistory(0.15)}
    await w.process({tp: [Record(0), Record(1)]})
    assert 0.6 <= w.window() < 1.0  # ~4x the insert
    w.history = {tp.topic: SlowHistory(1.0)}
    await w.process({tp: [Record(2)]})
    assert w.window() == 2.0
    w.history = {tp.topic: SlowHistory(0.0)}
    await w.process({tp: [Record(3)]})
    assert w.window() == 0.2
    assert w.rows == 4


def test_the_idle_end_is_twice_the_writers_longest_fetch_wait():
    assert idle_seconds(Settings(sink_flush_seconds=1.0)) == 0.5  # fetches wait up to 250 ms
    assert idle_seconds(Settings(sink_flush_seconds=8.0)) == 1.0  # at most 500 ms


class PausingConsumer:
    """Records on the first `busy` fetches, then none: a burst that ended."""

    def __init__(self, tp: TopicPartition, busy: int):
        self.tp, self.busy, self.offset, self.waits = tp, busy, 0, []

    async def getmany(self, timeout_ms, max_records):
        self.waits.append(timeout_ms)
        if self.busy > 0:
            self.busy -= 1
            self.offset += 1
            return {self.tp: [Record(self.offset - 1)]}
        await asyncio.sleep(timeout_ms / 1000)
        return {}


async def test_a_batch_asks_its_window_each_time_and_ends_when_the_stream_pauses():
    tp = TopicPartition("t", 0)
    asked = []

    def window():
        asked.append(1)
        return 30.0  # a window grown under load: the pause must end the batch, not the window

    consumer = PausingConsumer(tp, busy=3)
    runner = BatchConsumer(name="w", consumer=consumer, topics=["t"], handler=None, batch_records=100,
                           batch_seconds=window, idle_seconds=0.1, on_failure=lambda why: None)
    started = time.monotonic()
    batch = await runner._next_batch()
    assert [r.offset for r in batch[tp]] == [0, 1, 2] and asked == [1]
    assert time.monotonic() - started < 5.0 and consumer.waits[-1] == 101
