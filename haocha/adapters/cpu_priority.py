"""Bulk work below the event loop: every thread of the process but the loop's runs at a lower CPU
priority (a higher nice value).

Why: the loop thread carries what people wait for (the hops' next batch, the API, the live
queue), while the other threads do bulk work: the embedded ClickHouse engine's inserts (with their
rollup views, ~600 ms of CPU per one-second writer batch at 1,000 reviews/s) and its reads,
RocksDB's compactions. On two cores shared with the broker, an insert at the same priority takes
the CPU the next batch waits for, and every stage's p99 grows by the insert's length. At nice +10
the kernel gives a runnable loop thread ~90 % of a contended core, and the bulk threads still get
every idle cycle, so throughput is unchanged (docs/performance.md, Latency).

Linux only (a thread's nice value is per thread there, set through its native id); elsewhere a no-op.
Threads appear later (the engine makes pool threads on demand, ones made by a lowered thread
inherit its value), so the sweep runs again every few seconds; each sweep is bounded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

log = logging.getLogger(__name__)

TASKS = "/proc/self/task"
MAX_THREADS = 4096  # a sweep looks at this many threads at most
SWEEP_SECONDS = 5.0


def lower_other_threads(nice: int, keep: int) -> int:
    """Lower every thread of this process but `keep` (a native thread id) to `nice` above `keep`'s
    own value (at most 19); returns how many were lowered by this call."""
    if nice <= 0 or not os.path.isdir(TASKS):
        return 0
    try:
        target = min(19, os.getpriority(os.PRIO_PROCESS, keep) + nice)
        tids = os.listdir(TASKS)[:MAX_THREADS]
    except OSError:
        return 0
    lowered = 0
    for name in tids:
        tid = int(name)
        if tid == keep:
            continue
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < target:
                os.setpriority(os.PRIO_PROCESS, tid, target)
                lowered += 1
        except OSError:  # the thread ended meanwhile, or the system refuses: leave it as it is
            continue
    return lowered


async def keep_bulk_threads_below_loop(nice: int, every: float = SWEEP_SECONDS) -> None:
    """Run on the event loop: lower the other threads now and every `every` seconds."""
    if nice <= 0:
        return
    loop_thread = threading.get_native_id()
    first = True
    while True:
        lowered = lower_other_threads(nice, loop_thread)
        if first:
            log.info("bulk threads at nice +%d below the event loop (%d lowered)", nice, lowered)
            first = False
        await asyncio.sleep(every)
