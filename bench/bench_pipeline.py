"""End-to-end throughput of the Haocha worker, against the ceiling of one raw Python Kafka hop.

    .venv/bin/python bench/bench_pipeline.py [--reviews N] [--keep-broker] [--profile SECONDS]

1. Uses the broker at HAOCHA_KAFKA_BOOTSTRAP (default 127.0.0.1:$HAOCHA_KAFKA_PORT, 9092); if none
   answers, starts one with `deploy/kafka.sh up` (HAOCHA_KAFKA_* respected; data in a temp dir unless
   HAOCHA_KAFKA_DATA is set) and stops it at the end.
2. Fresh topic prefix, consumer group and data dir; starts `haocha worker` as a subprocess and warms
   it up (a small batch of another month's traffic through the whole pipeline).
3. Produces N simulated reviews (plus the resends/malformed bytes the simulator mixes in) and waits
   until the worker's consumer group has no lag on any pipeline topic, ClickHouse sinks included.
   reviews/s = messages / (first send .. caught up).
4. Stops the worker, checks the ClickHouse row counts against what was sent, then runs the baseline
   over the very same messages: a raw aiokafka consumer + producer (acks=all, batches delivered
   before each commit), i.e. one hop that does no work at all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, Broker, free_port, log  # noqa: E402

from aiokafka import TopicPartition  # noqa: E402
from aiokafka.admin import NewTopic  # noqa: E402
from aiokafka.errors import GroupCoordinatorNotAvailableError  # noqa: E402

from haocha.adapters import kafka  # noqa: E402
from haocha.adapters.kafka import group_lag, produce_all  # noqa: E402
from apps.bootstrap import build_deps  # noqa: E402
from haocha.settings import Settings  # noqa: E402
from apps.simulate.pipeline import PIPELINE, wait_caught_up  # noqa: E402
from apps.simulate.traffic import TrafficPlan, generate  # noqa: E402
from haocha.adapters.kafka import ensure_topics  # noqa: E402
from schemas.topics import REVIEWS_SUBMITTED  # noqa: E402


class Worker:
    """`haocha worker` in a subprocess with the bench's settings; SIGTERM (then SIGKILL) to stop."""

    def __init__(self, env: dict, logfile: Path):
        self.env, self.logfile = env, logfile
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        out = open(self.logfile, "wb")
        self.proc = subprocess.Popen([str(Path(sys.executable).parent / "haocha"), "worker", "--loglevel", "warning"],
                                     env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()

    def check(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            tail = self.logfile.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the worker exited with {self.proc.returncode}:\n{tail}")

    def stop(self, timeout: float = 60.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log("worker did not stop on SIGTERM; killing it")
            self.proc.kill()
            self.proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all threads), from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


async def wait_worker(s: Settings, worker: Worker, timeout: float = 600.0) -> float:
    """wait_caught_up, but failing fast if the worker dies (and patient while a fresh broker has
    no group coordinator yet)."""
    start = time.monotonic()
    while True:
        task = asyncio.ensure_future(wait_caught_up(s, timeout=timeout))
        while not task.done():
            await asyncio.sleep(0.5)
            try:
                worker.check()
            except RuntimeError:
                task.cancel()
                raise
        try:
            task.result()
            return time.monotonic() - start
        except GroupCoordinatorNotAvailableError:
            await asyncio.sleep(1)


async def raw_hop(s: Settings, source: str, start_offsets: dict | None, expect: int) -> float:
    """Baseline: consume `expect` messages of `source` and produce each to a new topic, no work in
    between; per fetched batch, await delivery then commit (what an at-least-once agent must do)."""
    sink = f"{s.topic_prefix}.bench.hop"
    admin = kafka.admin(s)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(sink, num_partitions=s.partitions, replication_factor=1)])
    finally:
        await admin.close()
    consumer = kafka.consumer(s, source, group_id=f"{s.app_id}-rawhop", auto_offset_reset="earliest",
                              max_poll_records=10_000, fetch_max_bytes=50 * 1024 * 1024,
                              max_partition_fetch_bytes=8 * 1024 * 1024)
    # The baseline as docs/performance.md measured it: acks=all, without idempotence.
    producer = kafka.producer(s, enable_idempotence=False, linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)  # join the group
        for tp in consumer.assignment():
            consumer.seek(tp, (start_offsets or {}).get(tp, 0))
        n, t0 = 0, time.monotonic()
        while n < expect:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            futures = []
            for tp, records in batches.items():
                for rec in records:
                    futures.append(await producer.send(sink, key=rec.key, value=rec.value, partition=tp.partition))
                n += len(records)
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
        return time.monotonic() - t0
    finally:
        await consumer.stop()
        await producer.stop()


async def end_offsets(s: Settings, topic: str) -> dict:
    consumer = kafka.consumer(s)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        return await consumer.end_offsets([TopicPartition(topic, p) for p in parts])
    finally:
        await consumer.stop()


def clickhouse_counts(s: Settings) -> dict:
    from sinks.clickhouse import ClickHouseStore

    store = ClickHouseStore(s.dsn, s.clickhouse_database)
    try:
        out = {}
        for table, key in (("reviews", "review_id"), ("ticket_events", "event_id"), ("dead_letters", "dl_offset")):
            out[table] = store.query(f"SELECT count(), uniqExact({key}) FROM {{db}}.{table}")[0]
        return out
    finally:
        store.close()


async def main_async(args) -> int:
    with Broker() as broker:
        run = uuid.uuid4().hex[:6]
        data_dir = Path(tempfile.mkdtemp(prefix=f"haocha-bench-{run}-"))
        env = dict(os.environ, HAOCHA_KAFKA_BOOTSTRAP=broker.bootstrap, HAOCHA_TOPIC_PREFIX=f"bench{run}",
                   HAOCHA_APP_ID=f"haocha-bench{run}", HAOCHA_DATA_DIR=str(data_dir),
                   HAOCHA_API_PORT=str(free_port()), HAOCHA_GATEWAY_PORT=str(free_port()),
                   HAOCHA_DEADLINE_SWEEP_SECONDS="0", HAOCHA_CLICKHOUSE_DSN="")
        s = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=f"bench{run}", app_id=f"haocha-bench{run}",
                     data_dir=data_dir, deadline_sweep_seconds=0, clickhouse_dsn="",
                     **({"partitions": int(os.environ["HAOCHA_PARTITIONS"])} if "HAOCHA_PARTITIONS" in os.environ else {}))
        await ensure_topics(s)
        deps = build_deps(s)
        warm = list(generate(TrafficPlan(month="2021-04", reviews=args.warmup, seed=7), deps.directory, deps.calendar))
        subs = list(generate(TrafficPlan(month="2021-05", reviews=args.reviews), deps.directory, deps.calendar))
        log(f"prefix bench{run}, data {data_dir}, {len(subs):,} messages for {args.reviews:,} reviews")
        submitted = s.topic(REVIEWS_SUBMITTED.name)

        worker = Worker(env, data_dir / "worker.log")
        worker.start()
        profiler = None
        try:
            t0 = time.monotonic()
            await produce_all(s, submitted, ((x.key, x.value) for x in warm))
            await wait_worker(s, worker)
            log(f"worker up and warm ({len(warm):,} messages) in {time.monotonic() - t0:.1f}s")
            start_offsets = await end_offsets(s, submitted)

            if args.profile:
                out = data_dir / "profile.txt"
                profiler = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p",
                                             str(worker.proc.pid), "-d", str(int(args.profile)), "-f", "raw", *os.environ.get("BENCH_PYSPY_ARGS", "").split(),
                                             "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                log(f"py-spy profile of the worker -> {out}")
            cpu0 = cpu_seconds(worker.proc.pid)
            t0 = time.monotonic()
            n = await produce_all(s, submitted, ((x.key, x.value) for x in subs))
            sent_s = time.monotonic() - t0
            await wait_worker(s, worker)
            worker_s = time.monotonic() - t0
            worker_cpu = cpu_seconds(worker.proc.pid) - cpu0
            log(f"sent {n:,} in {sent_s:.1f}s; worker caught up after {worker_s:.1f}s")
        finally:
            if profiler is not None:
                profiler.wait()
            worker.stop()

        valid = [x for x in warm + subs if x.kind != "malformed"]
        counts = clickhouse_counts(s)
        expected_reviews = len({x.review_id for x in valid})
        ok = counts["reviews"][0] == counts["reviews"][1] == expected_reviews \
            and counts["ticket_events"][0] == counts["ticket_events"][1]

        base_s = await raw_hop(s, submitted, start_offsets, n)
        lag = await group_lag(s, s.app_id, [s.topic(p.name) for p in PIPELINE])

        rate, base_rate = n / worker_s, n / base_s
        print(f"messages                 {n:,} ({args.reviews:,} reviews + simulator resends/malformed)")
        print(f"worker end to end        {worker_s:6.1f} s  {rate:10,.0f} reviews/s   (send took {sent_s:.1f} s)")
        print(f"worker CPU               {worker_cpu:6.1f} s  ({worker_cpu / worker_s:.0%} of one core; "
              f"{worker_cpu * 1e6 / n:,.0f} us per message; load average {os.getloadavg()[0]:.1f})")
        print(f"raw aiokafka hop         {base_s:6.1f} s  {base_rate:10,.0f} msgs/s    (consume+produce, acks=all)")
        print(f"worker / raw hop         {rate / base_rate:6.2f}")
        print(f"clickhouse reviews       {counts['reviews'][0]:,} rows (expected {expected_reviews:,}) "
              f"ticket_events {counts['ticket_events'][0]:,} dead_letters {counts['dead_letters'][0]:,} "
              f"-> {'OK' if ok else 'MISMATCH'}; remaining lag {sum(lag.values())}")
        if not args.profile and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reviews", type=int, default=50_000)
    p.add_argument("--warmup", type=int, default=500, help="reviews sent first to get the worker running")
    p.add_argument("--keep", action="store_true", help="keep the data dir (worker log, stores)")
    p.add_argument("--profile", type=int, default=0, help="py-spy the worker for this many seconds")
    args = p.parse_args()
    os.environ.setdefault("TZ", "UTC")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
