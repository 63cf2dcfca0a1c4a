"""How long a worker takes to answer again after a SIGKILL, with state behind it.

    .venv/bin/python bench/bench_restart.py [--reviews N] [--kills K]

Fresh topic prefix and data dir; starts `haocha worker`, feeds N simulated reviews and waits until
the pipeline has caught up (the tables and their changelogs then hold that much state), then K
times: SIGKILL the worker, start it again, and time from the new process's start to the first
`GET /api/v1/health` answered 200 (tables recovered, partitions assigned, not rebalancing).
Also times a first start, for comparison. The figure the issue asks for: under 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Broker, free_port, log  # noqa: E402

from apps.bootstrap import build_deps  # noqa: E402
from apps.simulate.pipeline import wait_caught_up  # noqa: E402
from apps.simulate.traffic import TrafficPlan, generate  # noqa: E402
from apps.simulate.worker_process import WorkerProcess  # noqa: E402
from haocha.adapters.kafka import ensure_topics, produce_all  # noqa: E402
from haocha.settings import Settings  # noqa: E402
from schemas.topics import REVIEWS_SUBMITTED  # noqa: E402


def timed_start(worker: WorkerProcess) -> float:
    t0 = time.monotonic()
    worker.start().wait_ready(timeout=180)
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reviews", type=int, default=20_000)
    ap.add_argument("--kills", type=int, default=3)
    args = ap.parse_args()
    with Broker() as broker:
        run = uuid.uuid4().hex[:8]
        data_dir = Path(tempfile.mkdtemp(prefix="haocha-bench-restart-"))
        s = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=f"bench{run}", data_dir=data_dir / "data",
                     api_port=free_port(), gateway_port=free_port(), deadline_sweep_seconds=0)
        asyncio.run(ensure_topics(s))
        worker = WorkerProcess(s, data_dir / "worker.log")
        try:
            first = timed_start(worker)
            log(f"first start: healthy after {first:.1f} s")
            deps = build_deps(s)
            subs = list(generate(TrafficPlan(reviews=args.reviews, seed=7), deps.directory, deps.calendar))
            asyncio.run(produce_all(s, s.topic(REVIEWS_SUBMITTED.name), [(x.key, x.value) for x in subs]))
            asyncio.run(wait_caught_up(s, timeout=900))
            log(f"{len(subs):,} messages in and caught up")
            figures = []
            for k in range(args.kills):
                worker.stop(signal.SIGKILL, 30)
                figures.append(timed_start(worker))
                log(f"restart {k + 1} after SIGKILL: healthy after {figures[-1]:.1f} s")
            worker.stop(signal.SIGTERM, 60)
            said = [ln for ln in worker.log_path.read_text(errors="replace").splitlines() if "haocha.readiness" in ln]
            log("what the worker said while it recovered (last restart):\n  " + "\n  ".join(said[-6:]))
            print(f"restart after SIGKILL ({len(subs):,} messages of state): healthy after "
                  f"{', '.join(f'{f:.1f}' for f in figures)} s (max {max(figures):.1f} s); first start {first:.1f} s")
            return 0 if max(figures) < 10 else 1
        finally:
            worker.stop(signal.SIGKILL, 30)
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
