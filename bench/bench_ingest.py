"""Benchmark: ClickHouse ingest through the store's writer (ClickHouseStore.write_reviews), the
path the worker's sink and `haocha rebuild` take: rows/s per batch size, into a fresh embedded
store, materialized views (rollups) included. A replay of the same batches must write nothing.

    .venv/bin/python bench/bench_ingest.py [--rows 200000] [--batches 1000,10000,50000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sinks.clickhouse import ClickHouseStore  # noqa: E402

T0 = datetime(2021, 5, 1, tzinfo=timezone(timedelta(hours=8)))


def review_json(i: int) -> dict:
    """A ReviewClassified as the worker's sink gets it (orjson.loads of the topic's bytes)."""
    at = (T0 + timedelta(seconds=i % (31 * 86400))).isoformat()
    rating = 1 + i % 5
    return {
        "review": {
            "review_id": f"R{i:010d}", "case_no": f"C{i}", "channel": "pad", "hall_id": "H-CY",
            "window_id": f"H-CY-W0{1 + i % 4}", "rating": rating, "reasons": ["态度差"] if rating <= 2 else [],
            "comment": None, "evaluator": {"real_name": i % 3 == 0, "phone": "13800000000" if i % 3 == 0 else None},
            "happened_at": at, "received_at": at, "terminal_id": "pad-1", "follow_up_of": None,
        },
        "department_id": "D-ZSJ", "classified_at": at, "classification": "counted", "counted": True,
        "ticket_id": f"T{i}" if rating <= 2 else None, "note": "",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--batches", default="1000,10000,50000")
    args = ap.parse_args()
    items = [review_json(i) for i in range(args.rows)]
    results = []
    for size in (int(b) for b in args.batches.split(",")):
        path = Path(tempfile.mkdtemp(prefix="haocha-bench-ingest-"))
        store = ClickHouseStore(f"chdb://{path}", "haocha_bench")
        try:
            store.migrate()
            t0 = time.perf_counter()
            written = sum(store.write_reviews(items[i:i + size]) for i in range(0, len(items), size))
            dt = time.perf_counter() - t0
            replayed = sum(store.write_reviews(items[i:i + size]) for i in range(0, len(items), size))
            assert written == len(items) and replayed == 0, (written, replayed)
            results.append((size, len(items) / dt))
            print(f"batch {size:>6,}: {len(items):,} rows in {dt:.2f}s = {len(items) / dt:,.0f} rows/s "
                  f"(replay wrote {replayed})", flush=True)
        finally:
            store.close()
            shutil.rmtree(path, ignore_errors=True)
    print("RESULT " + " ".join(f"ingest_batch_{s}={r:,.0f}rows/s" for s, r in results) + " (target >= 100,000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
