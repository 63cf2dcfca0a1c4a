"""Benchmark: the writer's rollup rebuild at start (ClickHouseStore.rebuild_rollups), the wait a
writer restarted after a kill mid-batch adds before it stores anything.

    .venv/bin/python bench/bench_rollup_rebuild.py [--reviews 1000000]

Fills an embedded store with the report sample (apps/report/sample.py: a quarter bad, a ticket
history per counted bad review) repeated with fresh review and ticket ids up to --reviews reviews,
then rebuilds the rollups and prints the wall and CPU time of the rebuild (chdb runs in this
process: CPU is this process's), and checks the review rollups against the reviews.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.report.sample import generate  # noqa: E402
from haocha.adapters.calendar_cn import ChineseWorkingCalendar  # noqa: E402
from haocha.domain.directory import Directory  # noqa: E402
from haocha.settings import PACKAGE_DATA  # noqa: E402
from sinks.clickhouse import ClickHouseStore  # noqa: E402

BASE = 5000


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def fill(store: ClickHouseStore, reviews: int) -> None:
    sample = generate(Directory.load(PACKAGE_DATA / "directory.json"), ChineseWorkingCalendar(), n=BASE, seed=7)
    store.write_reviews(sample.reviews)
    store.write_ticket_events(sample.all_events)
    copies = max(1, reviews // len(sample.reviews))
    store.command(f"CREATE TABLE {store.db}.base_reviews AS {store.db}.reviews")
    store.command(f"INSERT INTO {store.db}.base_reviews SELECT * FROM {store.db}.reviews")
    store.command(f"CREATE TABLE {store.db}.base_events AS {store.db}.ticket_events")
    store.command(f"INSERT INTO {store.db}.base_events SELECT * FROM {store.db}.ticket_events")
    for n in range(1, copies):  # one insert a copy: the views fold a ticket's events in one block
        store.command(f"INSERT INTO {store.db}.reviews SELECT * REPLACE (concat(review_id, '-{n}') AS review_id, "
                      f"if(ticket_id IS NULL, NULL, concat(ticket_id, '-{n}')) AS ticket_id) FROM {store.db}.base_reviews")
        store.command(f"INSERT INTO {store.db}.ticket_events SELECT * REPLACE (concat(event_id, '-{n}') AS event_id, "
                      f"concat(ticket_id, '-{n}') AS ticket_id) FROM {store.db}.base_events ORDER BY ticket_id, version")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviews", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rollup-rebuild-") as tmp:
        store = ClickHouseStore(f"chdb://{tmp}", "haocha_bench")
        try:
            store.migrate()
            started = time.monotonic()
            fill(store, args.reviews)
            print(f"filled in {time.monotonic() - started:.1f} s", flush=True)
            want = store.query("SELECT granularity, sum(reviews), sum(bad) FROM {db}.review_rollups "
                               "GROUP BY granularity ORDER BY granularity")
            wall, c = time.monotonic(), cpu()
            reviews, events = store.rebuild_rollups()
            wall, c = time.monotonic() - wall, cpu() - c
            got = store.query("SELECT granularity, sum(reviews), sum(bad) FROM {db}.review_rollups "
                              "GROUP BY granularity ORDER BY granularity")
            assert got == want, f"review rollups after the rebuild {got} != before {want}"
            print(f"rollup rebuild: {reviews:,} reviews, {events:,} ticket events: {wall:.1f} s wall, "
                  f"{c:.1f} s CPU ({c / reviews * 1e6:.1f} us CPU per review); review rollups unchanged")
        finally:
            store.close()


if __name__ == "__main__":
    main()
