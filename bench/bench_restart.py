"""How long a worker takes to answer again after a SIGKILL, with state behind it.

    .venv/bin/python bench/bench_restart.py [--tickets N] [--reviews N] [--kills K] [--fresh]

The state: a month of simulated reviews (`--reviews`, default 200,000: the review hop's guard and
windows, their tickets) and `--tickets` more tickets (default 1,000,000), opened by OpenTicket
commands produced straight to tickets.commands (the commands the review hop would send for that
many bad reviews, copied from the month's own with fresh review ids), so the ticket table, its
changelog and the store hold them all. `haocha worker` (one process, the writer in it, embedded
store) takes all of it in; then K times: SIGKILL the worker, start it again, and time from the new
process's start to the first `GET /api/v1/health` answered 200 (tables recovered, partitions
assigned, not rebalancing). Also times a first start, for comparison. The target: under 10 s.

Filling 1,000,000 tickets takes a while, so the deployment (its topic prefix, data dir and a note
of what it holds) is kept under .run/bench/restart-<tickets>-<reviews> and used again while the
broker still has its topics; `--fresh` builds it anew. With `--tickets 0` the run is throwaway.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, Broker, free_port, log  # noqa: E402

from aiokafka import TopicPartition  # noqa: E402

from apps.bootstrap import build_deps  # noqa: E402
from apps.simulate.pipeline import wait_caught_up  # noqa: E402
from apps.simulate.traffic import TrafficPlan, generate  # noqa: E402
from apps.simulate.worker_process import WorkerProcess  # noqa: E402
from haocha.adapters import kafka  # noqa: E402
from haocha.adapters.kafka import ensure_topics, produce_all  # noqa: E402
from haocha.domain.intake import parse_submission  # noqa: E402
from haocha.domain.reviews import ticket_id_for  # noqa: E402
from haocha.settings import Settings  # noqa: E402
from schemas.review import BAD_RATINGS, ReviewSubmitted  # noqa: E402
from schemas.topics import REVIEWS_SUBMITTED, TICKET_COMMANDS  # noqa: E402
from streams.review_hop import open_ticket_command  # noqa: E402

TARGET_SECONDS = 10.0


def timed_start(worker: WorkerProcess) -> tuple[float, float]:
    """Seconds until healthy, and until the new process's first log line (the interpreter and its
    imports, before any recovery starts)."""
    size = worker.log_path.stat().st_size if worker.log_path.exists() else 0
    t0, first = time.monotonic(), [float("nan")]

    def watch() -> None:
        while worker.proc.poll() is None and first[0] != first[0]:
            if worker.log_path.stat().st_size > size:
                first[0] = time.monotonic() - t0
            time.sleep(0.05)

    worker.start()
    spy = threading.Thread(target=watch, daemon=True)
    spy.start()
    worker.wait_ready(timeout=600)
    took = time.monotonic() - t0
    spy.join(1)
    return took, first[0]


def open_commands(subs, n: int, deps) -> Iterator[tuple[bytes, bytes]]:
    """`n` OpenTicket commands, each a copy of one the month's bad reviews gave, with a review id of
    its own (and so its own ticket and command id): the tickets spread over the same halls."""
    templates = []
    for x in subs:
        if x.kind != "review":
            continue
        review = parse_submission(x.value, source="bench", key=x.key, partition=0, offset=0, received_at=deps.clock.now(),
                                  directory=deps.directory)
        if isinstance(review, ReviewSubmitted) and review.rating in BAD_RATINGS and not review.follow_up_of:
            dept = deps.directory.department_for(review.hall_id, review.window_id)
            templates.append((review.review_id, open_ticket_command(review, dept, deps).model_dump_json().encode()))
        if len(templates) >= 500:
            break
    for i in range(n):
        rid, body = templates[i % len(templates)]
        new = f"RBENCH-{i:08d}"
        yield ticket_id_for(new).encode(), body.replace(rid.encode(), new.encode())


async def end_offsets(s: Settings, topic: str) -> int:
    reader = kafka.consumer(s)
    await reader.start()
    try:
        parts = await kafka.partitions(reader, topic)
        if not parts:
            return 0
        ends = await reader.end_offsets([TopicPartition(topic, p) for p in parts])
        return sum(ends.values())
    finally:
        await reader.stop()


def deployment(broker: Broker, args) -> tuple[Settings, Path, bool]:
    """The settings of the (kept) deployment, its dir, and whether it already holds the state."""
    if not args.tickets:
        home = Path(tempfile.mkdtemp(prefix="haocha-bench-restart-"))
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        return settings_for(broker, prefix, home), home, False
    home = REPO / ".run" / "bench" / f"restart-{args.tickets}-{args.reviews}"
    note = home / "deployment.json"
    if note.exists() and not args.fresh:
        held = json.loads(note.read_text())
        s = settings_for(broker, held["topic_prefix"], home)
        if held.get("bootstrap") == broker.bootstrap and \
                asyncio.run(end_offsets(s, s.topic(TICKET_COMMANDS.name))) >= held["commands"]:
            log(f"using the deployment kept in {home} ({held['commands']:,} commands, {held['messages']:,} reviews)")
            return s, home, True
        log(f"the deployment in {home} is gone from the broker at {broker.bootstrap}: building it anew")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return settings_for(broker, f"benchrestart{uuid.uuid4().hex[:8]}", home), home, False


def settings_for(broker: Broker, prefix: str, home: Path) -> Settings:
    return Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=prefix, data_dir=home / "data",
                    api_port=free_port(), gateway_port=free_port(), deadline_sweep_seconds=0, clickhouse_dsn="")


def fill(s: Settings, worker: WorkerProcess, home: Path, args) -> None:
    deps = build_deps(s)
    subs = list(generate(TrafficPlan(month="2021-05", reviews=args.reviews, seed=7), deps.directory, deps.calendar))
    t0 = time.monotonic()
    asyncio.run(produce_all(s, s.topic(REVIEWS_SUBMITTED.name), [(x.key, x.value) for x in subs]))
    log(f"{len(subs):,} review messages sent; {args.tickets:,} OpenTicket commands next")
    commands = asyncio.run(produce_all(s, s.topic(TICKET_COMMANDS.name), open_commands(subs, args.tickets, deps),
                                       every=10_000))
    log(f"sent in {time.monotonic() - t0:.0f} s; waiting for the worker to take it all in")
    took = asyncio.run(wait_caught_up(s, timeout=7200, on_progress=progress(), settle=3))
    spent = time.monotonic() - t0
    log(f"caught up after {spent:.0f} s ({took:.0f} s of waiting): {commands / spent:,.0f} ticket commands/s while "
        f"filling; kept for the next runs")
    if args.tickets:
        (home / "deployment.json").write_text(json.dumps(
            {"topic_prefix": s.topic_prefix, "bootstrap": s.kafka_bootstrap, "commands": commands,
             "messages": len(subs)}))


def progress():
    last = [0.0]

    def show(lag: dict) -> None:
        if time.monotonic() - last[0] > 30:
            last[0] = time.monotonic()
            log("lag " + " ".join(f"{t.split('.', 1)[1]}={n:,}" for t, n in lag.items() if n))
    return show


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=1_000_000, help="tickets opened by commands, beyond the month's own")
    ap.add_argument("--reviews", type=int, default=200_000, help="the month of reviews")
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--fresh", action="store_true", help="build the kept deployment anew")
    args = ap.parse_args()
    with Broker() as broker:
        s, home, filled = deployment(broker, args)
        asyncio.run(ensure_topics(s))
        worker = WorkerProcess(s, home / "worker.log")
        try:
            first, _ = timed_start(worker)
            log(f"{'start' if filled else 'first start'}: healthy after {first:.1f} s")
            if not filled:
                fill(s, worker, home, args)
            held = asyncio.run(end_offsets(s, s.topic(TICKET_COMMANDS.name)))
            figures, imports = [], []
            for k in range(args.kills):
                worker.stop(signal.SIGKILL, 30)
                took, before_log = timed_start(worker)
                figures.append(took)
                imports.append(before_log)
                log(f"restart {k + 1} after SIGKILL: healthy after {took:.1f} s ({before_log:.1f} s to its first log line)")
            worker.stop(signal.SIGTERM, 120)
            said = [ln for ln in worker.log_path.read_text(errors="replace").splitlines() if "haocha.readiness" in ln]
            log("what the worker said while it recovered (last restart):\n  " + "\n  ".join(said[-6:]))
            worst = max(figures)
            print(f"restart after SIGKILL with {held:,} ticket commands ({args.tickets:,} tickets + a month of "
                  f"{args.reviews:,} reviews) in state: healthy after {', '.join(f'{f:.1f}' for f in figures)} s "
                  f"(max {worst:.1f} s; target {TARGET_SECONDS:.0f} s: {'MET' if worst <= TARGET_SECONDS else 'NOT MET'}, "
                  f"{worst / TARGET_SECONDS:.2f}x); {'start' if filled else 'first start'} {first:.1f} s")
            print(f"  of which before the process's first log line (interpreter, imports): "
                  f"{', '.join(f'{f:.1f}' for f in imports)} s; load average {os.getloadavg()[0]:.1f}")
            return 0 if worst <= TARGET_SECONDS else 1
        finally:
            worker.stop(signal.SIGKILL, 30)
            if not args.tickets:
                shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
