"""Benchmark: `haocha rebuild`, the ClickHouse history re-derived from the Kafka log, in events/s.

    .venv/bin/python bench/bench_rebuild.py [--events 600000] [--keep]

Builds a log of realistic shape on a fresh topic prefix: the report sample's reviews and ticket
histories (apps/report/sample.py: a quarter bad, a ticket per counted bad review, opened, assigned,
contacted, rectified, closed, appealed, reopened ...) repeated with fresh ids up to --events
records across every topic rebuild reads: reviews.classified, tickets.events, a tickets.state
snapshot per ticket version, alerts and dead letters, plus 1% of the reviews and events written
twice (the copies a crash leaves). Then runs the real `haocha rebuild` in a subprocess against it,
and prints events/s (records read / wall time of the command) and CPU µs per event of the command,
with the rows it wrote checked against the distinct records of the log (tickets: the table's
tickets and their newest versions).
The broker is the one at HAOCHA_KAFKA_BOOTSTRAP (default 127.0.0.1:$HAOCHA_KAFKA_PORT, 9092), or one
started with deploy/kafka.sh if none answers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, Broker, log  # noqa: E402

import orjson  # noqa: E402

from apps.report.sample import generate  # noqa: E402
from haocha.adapters.calendar_cn import ChineseWorkingCalendar  # noqa: E402
from haocha.adapters.kafka import ensure_topics, produce_all  # noqa: E402
from haocha.domain.directory import Directory  # noqa: E402
from haocha.domain.intake import dead_letter  # noqa: E402
from haocha.domain.tickets import fold  # noqa: E402
from haocha.settings import PACKAGE_DATA, Settings  # noqa: E402
from schemas import topics as t  # noqa: E402
from schemas.alerts import AlertEnvelope, SpikeDetected  # noqa: E402
from sinks.clickhouse import ClickHouseStore  # noqa: E402

TARGET = 50_000
TEMPLATE_REVIEWS = 2_000
# The sample's ids (R00042, C00042, T-R00042 ...): each repetition gets its own suffix.
_ID = re.compile(rb"(?<![A-Za-z0-9])([RC]\d{5})(?!\d)")


def template() -> dict[str, list[tuple[bytes, bytes]]]:
    """One repetition of the log: (key, value) per topic, as the worker writes them."""
    sample = generate(Directory.load(PACKAGE_DATA / "directory.json"), ChineseWorkingCalendar(), n=TEMPLATE_REVIEWS,
                      seed=11)
    out: dict[str, list[tuple[bytes, bytes]]] = {name: [] for name in
                                                 (t.REVIEWS_CLASSIFIED.name, t.TICKET_EVENTS.name, t.TICKET_STATE.name,
                                                  t.ALERTS.name, t.DEAD_LETTERS.name)}
    for c in sample.reviews:
        out[t.REVIEWS_CLASSIFIED.name].append((c.review.hall_id.encode(), c.model_dump_json().encode()))
    for tid, envs in sample.events.items():
        state = None
        for env in envs:
            state = fold(state, env)
            out[t.TICKET_EVENTS.name].append((tid.encode(), env.model_dump_json().encode()))
            out[t.TICKET_STATE.name].append((tid.encode(), state.model_dump_json().encode()))
    at = datetime(2021, 5, 6, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    for i, c in enumerate(sample.reviews[::500]):
        r = c.review
        spike = SpikeDetected(alert_id=f"{r.window_id}@R{i:05d}", hall_id=r.hall_id, window_id=r.window_id,
                              department_id=c.department_id, window_start=at, window_end=at + timedelta(minutes=30),
                              reviews=12, bad=5, detected_at=at + timedelta(minutes=30))
        out[t.ALERTS.name].append((r.window_id.encode(), AlertEnvelope(event=spike).model_dump_json().encode()))
    for i in range(TEMPLATE_REVIEWS // 200):
        d = dead_letter(b'{"review_id": "R%05d", oops' % i, source="p.reviews.submitted", reason="not_json",
                        detail="not JSON", key=b"H-CY", partition=i % 12, offset=i, failed_at=at)
        out[t.DEAD_LETTERS.name].append((b"H-CY", d.model_dump_json().encode()))
    return out


def repeat(records: list[tuple[bytes, bytes]], k: int) -> list[tuple[bytes, bytes]]:
    suffix = b"\\1k%d" % k
    return [(_ID.sub(suffix, key), _ID.sub(suffix, value)) for key, value in records]


def dead_letter_copy(records: list[tuple[bytes, bytes]], k: int) -> list[tuple[bytes, bytes]]:
    """Each repetition's dead letters come from other source offsets (one row per bad input)."""
    out = []
    for key, value in records:
        doc = orjson.loads(value)
        doc["offset"] = doc["offset"] + 1_000_000 * (k + 1)
        out.append((key, orjson.dumps(doc)))
    return out


def build_log(events: int) -> tuple[dict[str, list[tuple[bytes, bytes]]], dict[str, int], tuple[int, int]]:
    """The log per topic, the distinct records per topic, and (tickets, sum of their last versions)."""
    base = template()
    per_copy = sum(len(v) for v in base.values())
    copies = max(1, -(-events // per_copy))
    log_: dict[str, list] = {name: [] for name in base}
    distinct: dict[str, int] = {}
    for k in range(copies):
        for name, records in base.items():
            log_[name].extend(dead_letter_copy(records, k) if name == t.DEAD_LETTERS.name else repeat(records, k))
    for name in (t.REVIEWS_CLASSIFIED.name, t.TICKET_EVENTS.name, t.TICKET_STATE.name):
        distinct[name] = len(log_[name])
        log_[name].extend(log_[name][::100])  # the copies a crash leaves in the log
    distinct[t.ALERTS.name] = len(log_[t.ALERTS.name])
    distinct[t.DEAD_LETTERS.name] = len(log_[t.DEAD_LETTERS.name])
    last = {}
    for key, value in base[t.TICKET_EVENTS.name]:
        last[key] = orjson.loads(value)["version"]
    return log_, distinct, (len(last) * copies, sum(last.values()) * copies)


async def produce(s: Settings, log_: dict[str, list]) -> None:
    await ensure_topics(s)
    for name, records in log_.items():
        await produce_all(s, s.topic(name), records, every=5000)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=600_000, help="records in the log, about (default 600,000)")
    ap.add_argument("--keep", action="store_true", help="keep the data dir")
    args = ap.parse_args()
    with Broker() as broker:
        run = f"rebuild{uuid.uuid4().hex[:6]}"
        data_dir = Path(tempfile.mkdtemp(prefix=f"haocha-bench-{run}-"))
        s = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=f"bench{run}", app_id=f"haocha-bench{run}",
                     data_dir=data_dir, clickhouse_dsn="")
        try:
            t0 = time.monotonic()
            log_, distinct, tickets = build_log(args.events)
            total = sum(len(v) for v in log_.values())
            log(f"log built: {total:,} records ({', '.join(f'{k} {len(v):,}' for k, v in log_.items())}) "
                f"in {time.monotonic() - t0:.1f}s")
            t0 = time.monotonic()
            asyncio.run(produce(s, log_))
            log(f"produced in {time.monotonic() - t0:.1f}s; running `haocha rebuild`")
            env = dict(os.environ, PYTHONUNBUFFERED="1", **s.as_env())
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "apps.cli", "rebuild"], env=env, cwd=REPO,
                                  capture_output=True, text=True)
            seconds = time.monotonic() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                print(done.stdout, done.stderr[-3000:], file=sys.stderr)
                return 1
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            written = {m.group(1): int(m.group(2).replace(",", ""))
                       for m in re.finditer(r"^\s*(\S+): ([\d,]+) rows$", done.stdout, re.M)}
            # The rebuild stores each ticket's newest snapshot per batch (sinks/rebuild_writes.py):
            # at least one row per ticket, and the table (newest version per ticket) is checked.
            snapshots = written.pop(t.TICKET_STATE.name, 0)
            want = {k: v for k, v in distinct.items() if k != t.TICKET_STATE.name}
            store = ClickHouseStore(s.dsn, f"{s.clickhouse_database}_rebuild", s.timezone)
            try:
                stored = tuple(store.query("SELECT count(), sum(version) FROM {db}.tickets FINAL")[0])
            finally:
                store.close()
            ok = written == want and stored == tickets and snapshots >= tickets[0]
            print(done.stdout.rstrip())
            print(f"RESULT load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores: rebuild of {total:,} events "
                  f"in {seconds:.1f}s = {total / seconds:,.0f} events/s, CPU {cpu / total * 1e6:.1f} us/event "
                  f"(target >= {TARGET:,} events/s); rows {'OK' if ok else f'DIFFERENT: wrote {written}, distinct in the log {want}; tickets {stored}, want {tickets}'}")
            return 0 if ok else 1
        finally:
            if not args.keep:
                shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
