"""Several workers in one consumer group and one ClickHouse writer (`haocha sink`): partitions move
when a worker dies or joins, and every count stays exact (the oracle of test_pipeline: computed
from what the simulator generated, never from the platform's code)."""

from __future__ import annotations

import re
import threading
import time

import pytest

from haocha.adapters.net import free_port
from schemas.topics import REVIEWS_SUBMITTED
from tests.integration.test_pipeline import assert_exact, caught_up, oracle, send, stored, traffic
from tests.support.sink_process import SinkProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PARTITIONS = 4


def worker_settings(s, name: str):
    """A worker of deployment `s`: its own data dir (its RocksDB state) and API port; the
    ClickHouse store belongs to the writer."""
    return s.model_copy(update={"data_dir": s.data_dir.parent / name / "data", "api_port": free_port(),
                                "sink_in_worker": False})  # the worker's log lands next to its data dir


def review_partitions(log: str, topic: str) -> set[int]:
    """The submitted-review partitions the worker's review hop held last (its log says so)."""
    lines = [ln for ln in log.splitlines() if "reviews: partitions" in ln]
    return {int(p) for p in re.findall(rf"'{re.escape(topic)}', (\d+)", lines[-1])} if lines else set()


def stream(s, subs, chunks: int = 20, pause: float = 0.5) -> threading.Thread:
    """Send the traffic in chunks over a few seconds, in the background: things happen mid-stream."""

    def run() -> None:
        step = -(-len(subs) // chunks)
        for i in range(0, len(subs), step):
            send(s, subs[i:i + step])
            time.sleep(pause)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_for(condition, timeout: float = 90.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def deployment(make_settings, start_worker, tmp_path):
    """(settings, writer, start(name) -> worker): one writer, workers started on demand."""
    s = make_settings(partitions=PARTITIONS)
    writer = SinkProcess(s, tmp_path / "sink.log").start()
    yield s, writer, lambda name: start_worker(worker_settings(s, name)).wait_ready()
    writer.stop()


def test_a_killed_workers_partitions_move_to_the_other_and_counts_stay_exact(deployment):
    s, writer, start = deployment
    subs = traffic(s, 6000, seed=44)
    want = oracle(subs)
    a, b = start("a"), start("b")
    topic = s.topic(REVIEWS_SUBMITTED.name)
    wait_for(lambda: review_partitions(a.logs(), topic) and review_partitions(b.logs(), topic), what="both hold partitions")
    sender = stream(s, subs)
    time.sleep(3)  # a share of the traffic is in, the rest is coming
    assert a.kill() == -9
    sender.join()
    caught_up(s)
    wait_for(lambda: review_partitions(b.logs(), topic) == set(range(PARTITIONS)), what="b to hold every partition")
    b.terminate()
    assert writer.stop() == 0
    assert_exact(stored(s), want)


def test_a_worker_added_mid_stream_takes_partitions_and_counts_stay_exact(deployment):
    s, writer, start = deployment
    subs = traffic(s, 6000, seed=43)
    want = oracle(subs)
    a = start("a")
    topic = s.topic(REVIEWS_SUBMITTED.name)
    sender = stream(s, subs, chunks=30)
    b = start("b")  # while the traffic flows
    wait_for(lambda: review_partitions(b.logs(), topic), what="b to take partitions")
    sender.join()
    caught_up(s)
    wait_for(lambda: review_partitions(a.logs(), topic) | review_partitions(b.logs(), topic) == set(range(PARTITIONS))
             and not review_partitions(a.logs(), topic) & review_partitions(b.logs(), topic), what="a clean split")
    a.terminate()
    b.terminate()
    assert writer.stop() == 0
    assert_exact(stored(s), want)
