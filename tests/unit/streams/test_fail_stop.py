"""A hop that fails on a batch must stop the worker before the batch's offsets are committed."""

import subprocess
import sys

from streams.app import EXIT_AGENT_FAILED

PROGRAM = """
import asyncio, logging
from aiokafka import TopicPartition
from streams.app import exit_failed
from streams.kafka_batch import BatchConsumer

TP = TopicPartition("t", 0)

class Record:
    def __init__(self, offset):
        self.offset = offset

class Consumer:  # what the runner asks of aiokafka's consumer
    fetched = 0
    def subscribe(self, topics, listener):
        self.listener = listener
    async def start(self):
        await self.listener.on_partitions_assigned({TP})
    async def getmany(self, timeout_ms, max_records):
        self.fetched += 1
        return {TP: [Record(self.fetched - 1)]}
    async def commit(self, offsets):
        print("committed", offsets[TP].offset, flush=True)

class Hop:
    async def assigned(self, tps): pass
    async def revoked(self, tps): pass
    async def process(self, batch):
        if batch[TP][0].offset == 1:
            raise RuntimeError("ClickHouse is gone")

async def main():
    runner = BatchConsumer(name="demo", consumer=Consumer(), topics=["t"], handler=Hop(), batch_records=10,
                           on_failure=exit_failed)
    await runner.start()
    await runner.run()

logging.basicConfig()
asyncio.run(main())
print("unreachable", flush=True)
"""


def test_a_failing_batch_exits_the_process_without_committing_it():
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_AGENT_FAILED
    assert done.stdout.split("\n")[0] == "committed 1"
    assert "committed 2" not in done.stdout and "unreachable" not in done.stdout
    assert "demo failed on a batch" in done.stderr and "ClickHouse is gone" in done.stderr
