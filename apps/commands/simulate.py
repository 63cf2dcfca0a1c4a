"""`haocha simulate traffic`: a month of hall traffic into Kafka, like the terminals send it."""

from __future__ import annotations

import asyncio
import collections
import sys

from haocha import settings as settings_mod
from apps.bootstrap import build_deps
from apps.simulate.progress import Progress
from apps.simulate.traffic import TrafficPlan, generate
from schemas.topics import REVIEWS_SUBMITTED


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulated hall traffic")
    sp = p.add_subparsers(dest="what", required=True)
    tr = sp.add_parser("traffic", help="produce a month of reviews to the review topic")
    tr.add_argument("--month", default="2021-05")
    tr.add_argument("--reviews", type=int, default=50_000)
    tr.add_argument("--seed", type=int, default=2021)
    tr.add_argument("--no-wait", action="store_true", help="do not wait for the worker to catch up")
    tr.set_defaults(func=run_traffic)


def run_traffic(args) -> int:
    s = settings_mod.load()
    stats = asyncio.run(send_traffic(s, TrafficPlan(month=args.month, reviews=args.reviews, seed=args.seed),
                                     wait=not args.no_wait))
    for k, v in sorted(stats.items()):
        print(f"  {k:>16}: {v:,}" if isinstance(v, int) else f"  {k:>16}: {v}")
    return 0


async def send_traffic(s, plan: TrafficPlan, wait: bool = True, who: str = "worker") -> dict:
    from haocha.adapters.kafka import produce_all
    from apps.simulate.pipeline import wait_caught_up

    deps = build_deps(s)
    subs = list(generate(plan, deps.directory, deps.calendar))
    kinds = collections.Counter(x.kind for x in subs)
    progress = Progress(f"sending {plan.month} traffic", total=len(subs))
    n = await produce_all(s, s.topic(REVIEWS_SUBMITTED.name), ((x.key, x.value) for x in subs),
                          on_progress=progress.update)
    send_s = progress.done(n)
    stats = dict(kinds, messages=n, send_seconds=round(send_s, 2))
    if wait:
        submitted = s.topic(REVIEWS_SUBMITTED.name)
        lagging = Progress(f"{who} taking reviews in", total=n)
        waited = await wait_caught_up(s, on_progress=lambda lag: lagging.update(
            n - min(n, lag.get(submitted, 0)), f"messages in flight downstream {sum(lag.values()):,}"))
        lagging.done(n, "all sunk into ClickHouse")
        total = send_s + waited
        stats.update(pipeline_seconds=round(total, 2), reviews_per_second=round(n / total))
    print(file=sys.stderr)
    return stats
