"""Latency at a steady rate: a bad review submitted -> its ticket visible through the worker's API.

    .venv/bin/python bench/bench_latency.py [--rate 1000] [--seconds 30] [--warmup 5] [--split]

Fresh topic prefix and data dir (its topics deleted after); `haocha worker` as deployed for one
worker (review hop, ticket agent and ClickHouse writer in one process, embedded store), or with
`--split` the writer apart (`haocha sink`, which then serves the plain GET's store reads), an admin
machine account added as `haocha user add` does. The simulator's traffic (reviews, resends, repeat presses, garbage) is
produced to reviews.submitted at `--rate` messages/s, paced every 5 ms, as the gateway's producer
sends (linger 2 ms, acks=all). For every ticket opened:

- submit: just before the review is handed to the producer;
- command / event: the Kafka timestamps of its OpenTicket command (the review hop) and of its
  TicketOpened event (the ticket agent), from a group-less reader of those topics;
- stream: when `GET /api/v1/tickets/stream` (SSE, the console's live queue) says it was opened;
- visible: for one ticket in `--get-every`, the first `GET /api/v1/tickets/{id}` answered 200 by
  the worker (its table first: no sink lag, and with the ticket's whole history held, no store
  read), asked when the stream names it and every 5 ms until then (not before: polling every
  pending ticket would load the worker); with `--split`, every other one asked of the writer
  instead, which holds no table and answers from the store. The time one GET takes is printed,
  and where its answer came from (the worker's table, or ClickHouse);
- loop: `GET /api/v1/health` every 20 ms, which reads nothing: how long the worker's event loop,
  shared by the hops, the in-process writer and the API, keeps a request waiting.

Tickets opened in the first `--warmup` seconds are left out. Prints p50/p99/max of submit ->
stream and submit -> GET 200 against the target (p99 <= 200 ms) and the same per stage, so a p99 over it says where the
time goes (the knobs: HAOCHA_REVIEW_BATCH, HAOCHA_TICKET_FLUSH_SECONDS, the producer's linger). And who had
the CPU over the measured seconds, as shares of a core (`bench/cpu_shares.py`): the worker, the broker when
it runs on this machine (its JIT compiler, request threads, GC, the rest), this bench and everything else.
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
from _common import BENCH_VENV, Broker, drop_run_topics, free_port, log  # noqa: E402
from cpu_shares import CpuShares, broker_pid, process_cpu  # noqa: E402

import aiohttp  # noqa: E402
import orjson  # noqa: E402
from aiokafka import TopicPartition  # noqa: E402

from apps.bootstrap import build_deps  # noqa: E402
from apps.simulate.traffic import TrafficPlan, generate  # noqa: E402
from apps.simulate.worker_process import WorkerProcess  # noqa: E402
from haocha.adapters import kafka  # noqa: E402
from haocha.adapters.kafka import ensure_topics  # noqa: E402
from haocha.auth.users import UserFile  # noqa: E402
from haocha.settings import Settings  # noqa: E402
from schemas.topics import REVIEWS_SUBMITTED, TICKET_COMMANDS, TICKET_EVENTS  # noqa: E402

TARGET_P99_MS = 200.0
TICK = 0.005


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


class Probe:
    """What the bench saw of each ticket, in wall-clock seconds (Kafka timestamps are wall-clock ms)."""

    def __init__(self):
        self.submit: dict[str, float] = {}
        self.command: dict[str, float] = {}
        self.event: dict[str, float] = {}
        self.stream: dict[str, float] = {}
        self.visible: dict[str, float] = {}
        self.source: dict[str, str] = {}
        self.at_store: set[str] = set()  # tickets asked of the writer (--split): the store's answer
        self.failed: dict[str, str] = {}
        self.gets: list[float] = []  # seconds per GET answered (200 or 404)
        self.health: list[tuple[float, float]] = []  # (asked at, wall clock; seconds) per GET /health
        self.not_yet = 0  # GETs answered 404 (asked before the ticket was visible)


async def tail_kafka(s: Settings, probe: Probe, ready: asyncio.Event) -> None:
    """Group-less from the end: the Kafka timestamp of each ticket's first command and event."""
    topics = {s.topic(TICKET_COMMANDS.name): probe.command, s.topic(TICKET_EVENTS.name): probe.event}
    reader = kafka.consumer(s, fetch_max_wait_ms=20)
    await reader.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in await kafka.partitions(reader, t)]
        reader.assign(tps)
        await reader.seek_to_end(*tps)
        for tp in tps:
            await reader.position(tp)
        ready.set()
        while True:
            batch = await reader.getmany(timeout_ms=200)
            for tp, records in batch.items():
                seen = topics[tp.topic]
                for r in records:
                    tid = r.key.decode()
                    if tid not in seen:
                        seen[tid] = r.timestamp / 1000
    finally:
        await reader.stop()


async def watch_stream(http: aiohttp.ClientSession, url: str, probe: Probe, ready: asyncio.Event,
                       get_every: int, store_url: str) -> None:
    async with http.get(f"{url}/api/v1/tickets/stream", timeout=aiohttp.ClientTimeout(total=None)) as resp:
        resp.raise_for_status()
        pending: set[asyncio.Task] = set()
        async for line in resp.content:
            if line.startswith(b": connected"):
                ready.set()
            if not line.startswith(b"data: "):
                continue
            item = orjson.loads(line[6:])
            tid = item["ticket_id"]
            if item.get("type") == "TicketOpened" and tid not in probe.stream:
                probe.stream[tid] = time.time()
                if len(probe.stream) % get_every:
                    continue
                to_store = store_url != url and len(probe.stream) // get_every % 2 == 0
                if to_store:
                    probe.at_store.add(tid)
                task = asyncio.create_task(fetch_until_visible(http, store_url if to_store else url, tid, probe, ""))
                pending.add(task)
                task.add_done_callback(pending.discard)


async def fetch_until_visible(http: aiohttp.ClientSession, url: str, tid: str, probe: Probe, query: str,
                              give_up: float = 30.0) -> None:
    deadline = time.monotonic() + give_up
    while time.monotonic() < deadline:
        asked = time.monotonic()
        async with http.get(f"{url}/api/v1/tickets/{tid}{query}") as resp:
            await resp.read()
            probe.gets.append(time.monotonic() - asked)
            if resp.status == 200:
                probe.visible[tid] = time.time()
                probe.source[tid] = (await resp.json()).get("source", "?")
                return
            probe.not_yet += resp.status == 404
            if resp.status != 404:
                probe.failed[tid] = f"HTTP {resp.status}: {(await resp.text())[:200]}"
                return
        await asyncio.sleep(TICK)
    probe.failed[tid] = f"not visible within {give_up:.0f} s"


async def probe_loop(http: aiohttp.ClientSession, url: str, probe: Probe, every: float = 0.02) -> None:
    while True:
        at, asked = time.time(), time.monotonic()
        async with http.get(f"{url}/api/v1/health") as resp:
            await resp.read()
        probe.health.append((at, time.monotonic() - asked))
        await asyncio.sleep(every)


async def submit_paced(s: Settings, subs, rate: float, probe: Probe) -> float:
    """Every tick, the messages due by then; returns the rate achieved (messages/s)."""
    topic = s.topic(REVIEWS_SUBMITTED.name)
    out = kafka.producer(s, linger_ms=2)
    await out.start()
    try:
        start, sent, pending = time.monotonic(), 0, []
        while sent < len(subs):
            due = min(len(subs), int((time.monotonic() - start) * rate) + 1)
            for x in subs[sent:due]:
                if x.review_id and x.kind in ("review", "late"):
                    probe.submit.setdefault(f"TK-{x.review_id}", time.time())
                pending.append(await out.send(topic, value=x.value, key=x.key))
            sent = due
            if len(pending) > 2000:
                await asyncio.gather(*pending)
                pending.clear()
            await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()) or TICK)
        await asyncio.gather(*pending)
        return sent / (time.monotonic() - start)
    finally:
        await out.stop()


def stage(name: str, values_ms: list[float], target: float | None = None) -> str:
    p50, p99, mx = pct(values_ms, 50), pct(values_ms, 99), max(values_ms, default=float("nan"))
    tail = f"   target p99 <= {target:.0f} ms: {'MET' if p99 <= target else 'NOT MET'} ({p99 / target:.2f}x)" if target else ""
    return f"  {name:38} p50 {p50:8.1f}  p99 {p99:8.1f}  max {mx:8.1f} ms{tail}"


async def run(broker: Broker, args) -> int:
    run_id = uuid.uuid4().hex[:8]
    data_dir = Path(tempfile.mkdtemp(prefix="haocha-bench-latency-"))
    s = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=f"benchlat{run_id}", data_dir=data_dir / "data",
                 api_port=free_port(), gateway_port=free_port(), deadline_sweep_seconds=0, clickhouse_dsn="")
    await ensure_topics(s)
    token = UserFile(s.users_path()).add("bench-latency", "admin", token_days=None, machine=True)
    deps = build_deps(s)
    n = int(args.rate * (args.seconds + args.warmup))
    subs = list(generate(TrafficPlan(month="2021-05", reviews=n, seed=11), deps.directory, deps.calendar))
    sink = None
    if args.split:  # the writer apart; with the embedded store it serves the store's reads (plain GET)
        sink = WorkerProcess(s.model_copy(update={"sink_in_worker": False, "api_port": free_port()}),
                             data_dir / "sink.log", role="sink")
        s = s.model_copy(update={"sink_in_worker": False})
    worker = WorkerProcess(s, data_dir / "worker.log")
    store_url = sink.url if sink is not None else s.worker_url
    probe = Probe()
    try:
        if sink is not None:
            sink.start().wait_ready(timeout=180)
        worker.start().wait_ready(timeout=180)
        log(f"worker up; {len(subs):,} messages at {args.rate:,.0f}/s ({args.warmup:.0f} s warm-up + {args.seconds:.0f} s)")
        cpu0, sink_cpu0 = worker_cpu(worker), worker_cpu(sink) if sink else 0.0
        profiler = None
        if args.profile:
            out = data_dir / "profile.txt"
            profiler = subprocess.Popen([py_spy(), "record", "-p", str(worker.proc.pid), "-d", str(args.profile), "-f",
                                         "raw", *os.environ.get("BENCH_PYSPY_ARGS", "").split(), "-o", str(out)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            log(f"py-spy profile of the worker -> {out}")
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            kafka_ready, stream_ready = asyncio.Event(), asyncio.Event()
            tasks = [asyncio.create_task(tail_kafka(s, probe, kafka_ready)),
                     asyncio.create_task(watch_stream(http, s.worker_url, probe, stream_ready, args.get_every,
                                                      store_url))]
            await asyncio.wait_for(asyncio.gather(kafka_ready.wait(), stream_ready.wait()), 60)
            pids = {"worker": worker.proc.pid, **({"writer": sink.proc.pid} if sink else {}),
                    "this bench (terminals, readers, SSE, GETs)": os.getpid()}
            shares = CpuShares(pids, broker_pid(broker.bootstrap.rsplit(":", 1)[1]))
            t0 = time.time()
            asyncio.get_running_loop().call_later(args.warmup, shares.start)  # the measured seconds only
            tasks.append(asyncio.create_task(probe_loop(http, s.worker_url, probe)))
            achieved = await submit_paced(s, subs, args.rate, probe)
            shares.stop()
            log(f"sent at {achieved:,.0f} messages/s; waiting for the last tickets")
            # done when no ticket has been opened for 3 s and every one opened has an answer
            opened, since, deadline = len(probe.stream), time.monotonic(), time.monotonic() + 120
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                if len(probe.stream) != opened:
                    opened, since = len(probe.stream), time.monotonic()
                elif time.monotonic() - since >= 3 and \
                        len(probe.visible) + len(probe.failed) >= opened // args.get_every:
                    break
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        cpu = worker_cpu(worker) - cpu0
        sink_cpu = worker_cpu(sink) - sink_cpu0 if sink else 0.0
        if profiler is not None:
            profiler.wait()
    finally:
        worker.stop(signal.SIGTERM, 60)
        if sink is not None:
            sink.stop(signal.SIGTERM, 60)
        await drop_run_topics(s)
    measured = [tid for tid in probe.stream if probe.submit.get(tid, 0) >= t0 + args.warmup]
    between = lambda a, b, ts: [(b[t] - a[t]) * 1000 for t in ts if t in a and t in b]  # noqa: E731
    ms = lambda a, b: between(a, b, measured)  # noqa: E731
    at_worker = [t for t in measured if t not in probe.at_store]
    at_store = [t for t in measured if t in probe.at_store]
    sources = {}
    for t in measured:
        if t not in probe.source:
            continue
        sources[probe.source[t]] = sources.get(probe.source[t], 0) + 1
    print(f"\nlatency at {achieved:,.0f} reviews/s for {args.seconds:.0f} s (after {args.warmup:.0f} s warm-up), "
          f"{len(measured):,} tickets measured, load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores, "
          f"worker CPU {cpu / (time.time() - t0) * 100:.0f}% of a core"
          + (f", writer {sink_cpu / (time.time() - t0) * 100:.0f}%" if sink else "") + "\n"
          + ("  topology: `haocha worker` (review hop, ticket hop, the API's stream and a ticket's detail from its table) + "
             "`haocha sink` (the ClickHouse writer, embedded store, the API's store reads)" if sink else
             "  topology: one `haocha worker` (review hop, ticket hop, API and the ClickHouse writer in one process, "
             "embedded store), the default for one worker"))
    print(stage("submit -> ticket on the stream (SSE)", ms(probe.submit, probe.stream), TARGET_P99_MS))
    share = 2 * args.get_every if at_store else args.get_every
    print(stage(f"submit -> GET 200 of the worker (1 in {share})", between(probe.submit, probe.visible, at_worker),
                TARGET_P99_MS))
    if at_store:
        print(stage(f"submit -> GET 200 of the writer (store, 1 in {share})",
                    between(probe.submit, probe.visible, at_store), TARGET_P99_MS))
    print("  where the time goes:")
    print(stage("submit -> command (review hop)", ms(probe.submit, probe.command)))
    print(stage("command -> event (ticket agent)", ms(probe.command, probe.event)))
    print(stage("event -> stream (SSE)", ms(probe.event, probe.stream)))
    print(stage("stream -> GET 200", ms(probe.stream, probe.visible)))
    print(stage("one GET of a ticket (200 or 404)", [g * 1000 for g in probe.gets]))
    print(stage("the worker's loop (GET /health)", [g * 1000 for at, g in probe.health if at >= t0 + args.warmup]))
    print("  " + shares.line())
    print(f"  {len(probe.gets):,} GETs, {probe.not_yet:,} answered 404 (not yet visible); the 200s answered from: "
          f"{', '.join(f'{k} {v:,}' for k, v in sorted(sources.items()))}")
    if probe.failed:
        print(f"  {len(probe.failed):,} tickets never visible, e.g. {next(iter(probe.failed.items()))}")
    if not (args.keep or args.profile):
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if measured and not probe.failed else 1


def py_spy() -> str:
    for where in (Path(sys.executable).parent, BENCH_VENV / "bin"):
        if (where / "py-spy").exists():
            return str(where / "py-spy")
    raise SystemExit(f"--profile needs py-spy: `make bench` installs it into {BENCH_VENV}")


def worker_cpu(worker: WorkerProcess) -> float:
    return process_cpu(worker.proc.pid)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=1000.0, help="messages per second")
    ap.add_argument("--seconds", type=float, default=30.0, help="measured seconds at the rate")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds at the rate before measuring")
    ap.add_argument("--get-every", type=int, default=10,
                    help="GET one ticket in this many (each GET is a few store queries on the store's one thread)")
    ap.add_argument("--keep", action="store_true", help="keep the data dir (the worker's log)")
    ap.add_argument("--split", action="store_true",
                    help="the writer as its own process (`haocha sink`, HAOCHA_SINK_IN_WORKER=false), "
                         "as bench_pipeline's ours")
    ap.add_argument("--profile", type=int, default=0,
                    help="py-spy the worker for this many seconds (kept in the data dir; BENCH_PYSPY_ARGS)")
    args = ap.parse_args()
    os.environ.setdefault("TZ", "UTC")
    with Broker() as broker:
        return asyncio.run(run(broker, args))


if __name__ == "__main__":
    sys.exit(main())
