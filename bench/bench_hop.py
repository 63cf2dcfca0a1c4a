"""Benchmark: the review hop's own work per review, without Kafka: the simulator's month through
`ReviewHop` (validation, counting rules, spike windows, ticket commands, the classified output
appended to aiokafka's real record batches, the partition state's changelog records and RocksDB
writes), in batches as the worker takes them. Prints this process's CPU µs per message (a review,
a resend or a malformed one: what the worker is sent).

The pipeline bench (bench_pipeline.py) measures the whole platform, but its figures move ±20 %
from run to run with the broker and the writer on the same two cores; this one leaves out
everything but the hop, so two trees (or two settings) can be compared run against run. Its
figure is a floor of the worker's cost per review, not the worker's cost: aiokafka's fetching and
delivery, the ticket hop and the API come on top.

    .venv/bin/python bench/bench_hop.py [--reviews 200000] [--batch 10000] [--repeat 3] [--profile]

Its CPU figure still moves with the host (±20 % here from run to run of one tree). Instructions do
not: under callgrind, `--reviews 10000 --repeat 1` less `--repeat 0` (the setup alone) is what the
hop executed, within 1 % from run to run (~2.5 min each, 44x slower):

    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/bench_hop.py --reviews 10000 --repeat 1

`--reviews` sets the month's density as well as its size: at 10,000 most spike windows hold one
review (2.3 window records per review, against 0.46 at 200,000), so the windows weigh more in that
count than in the pipeline's month (docs/performance.md, round 10).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiokafka import TopicPartition as KafkaTopicPartition  # noqa: E402
from aiokafka.producer.message_accumulator import BatchBuilder  # noqa: E402

from apps.bootstrap import build_deps  # noqa: E402
from apps.simulate.traffic import TrafficPlan, generate  # noqa: E402
from haocha.adapters.kafka import PRODUCER_OPTIONS, partition_for  # noqa: E402
from haocha.settings import Settings  # noqa: E402
from schemas import topics as t  # noqa: E402
from streams.kafka_batch import spare_the_collector  # noqa: E402
from streams.review_hop import ReviewHop  # noqa: E402


class Record:
    """What the hop reads of a fetched ConsumerRecord."""

    __slots__ = ("key", "value", "offset")

    def __init__(self, key: bytes | None, value: bytes, offset: int):
        self.key, self.value, self.offset = key, value, offset


class Delivered:
    """An offset-only RecordMetadata."""

    def __init__(self, offset: int):
        self.offset = offset


class NullProducer:
    """Takes record batches as aiokafka's producer does (the hop fills real BatchBuilders) and
    acknowledges them at once, numbering each partition's records."""

    def __init__(self):
        self.ends: dict[tuple[str, int], int] = {}
        self.records = 0
        self._batch_size = PRODUCER_OPTIONS["max_batch_size"]

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self._batch_size, 0)  # no compression, as the producer

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int):
        batch.close()
        n = batch.record_count()
        start = self.ends.get((topic, partition), 0)
        self.ends[(topic, partition)] = start + n
        self.records += n
        done = asyncio.get_running_loop().create_future()
        done.set_result(Delivered(start))
        return done


class EmptyChangelog:
    """The changelog consumer of a fresh deployment: nothing to restore."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def assign(self, tps) -> None: ...

    async def end_offsets(self, tps) -> dict:
        return {tp: 0 for tp in tps}


def batches(subs, topic: str, partitions: int, size: int):
    """The traffic as the worker's consumer hands it over: per partition of reviews.submitted
    (keyed by hall), up to `size` records per batch."""
    by_part: dict[int, list[Record]] = {}
    for s in subs:
        p = partition_for(s.key, partitions) if s.key else 0
        rs = by_part.setdefault(p, [])
        rs.append(Record(s.key, s.value, len(rs)))
    pending = {p: iter(rs) for p, rs in by_part.items()}
    while pending:
        batch: dict = {}
        room = size
        for p in list(pending):
            taken = []
            for rec in pending[p]:
                taken.append(rec)
                if len(taken) >= room:
                    break
            if not taken:
                del pending[p]
                continue
            batch[KafkaTopicPartition(topic, p)] = taken
            room -= len(taken)
            if room <= 0:
                break
        if batch:
            yield batch


async def one_run(deps, subs, batch: int, profile: cProfile.Profile | None) -> tuple[float, int, int]:
    s = deps.settings
    partitions = s.partitions
    outputs = {s.topic(x.name): partitions for x in (t.REVIEWS_SUBMITTED, t.REVIEWS_CLASSIFIED, t.TICKET_COMMANDS,
                                                      t.ALERTS, t.DEAD_LETTERS, t.REVIEW_STATE)}
    with tempfile.TemporaryDirectory(prefix="haocha-bench-hop-") as tmp:
        hop = ReviewHop(deps, outputs, Path(tmp), new_consumer=EmptyChangelog)
        hop.producer = producer = NullProducer()
        await hop.assigned({KafkaTopicPartition(hop.submitted, p) for p in range(partitions)})
        try:
            work = list(batches(subs, hop.submitted, partitions, batch))
            t0 = time.process_time()
            if profile:
                profile.enable()
            for b in work:
                await hop.process(b)
            if profile:
                profile.disable()
            cpu = time.process_time() - t0
        finally:
            hop.states.close_all()  # before the directory goes
        return cpu, hop.counts.classified, producer.records


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reviews", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=None, help="reviews per batch (default: settings.review_batch)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile the last run; print the top functions")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # the hop's lines on dead letters and spikes: not what is timed
    with tempfile.TemporaryDirectory(prefix="haocha-bench-hop-data-") as data:
        s = Settings(data_dir=Path(data))
        deps = build_deps(s)
        subs = list(generate(TrafficPlan(month="2021-05", reviews=args.reviews), deps.directory, deps.calendar))
        batch = args.batch or s.review_batch
        spare_the_collector(batch)  # as the worker does before its first batch (the traffic frozen with it)
        print(f"{len(subs):,} messages ({args.reviews:,} reviews), batches of {batch:,}, {s.partitions} partitions")
        figures = []
        for i in range(args.repeat):
            prof = cProfile.Profile() if args.profile and i == args.repeat - 1 else None
            cpu, classified, out = asyncio.run(one_run(deps, subs, batch, prof))
            per = cpu * 1e6 / len(subs)
            figures.append(per)
            print(f"run {i + 1}: {cpu:.2f} s CPU, {per:.1f} µs/message, {classified:,} classified, {out:,} records out"
                  f"{' (profiled)' if prof else ''}")
            if prof:
                pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        if not figures:  # --repeat 0: the setup alone (a baseline for instruction counts under callgrind)
            return 0
        plain = [f for i, f in enumerate(figures) if not (args.profile and i == args.repeat - 1)] or figures
        print(f"RESULT review hop: {min(plain):.1f} µs CPU per message (best of {len(plain)}; "
              f"{', '.join(f'{f:.1f}' for f in figures)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
