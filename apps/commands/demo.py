"""`haocha demo`: a simulated month of hall traffic through the whole platform, end to end.

Starts a worker (or, with `--workers N`, N workers and one writer that serves the API and console:
the embedded topology of docs/deploy.md), sends May 2021's reviews, lets simulated officers work
the tickets through the HTTP API, prints the monthly report and writes its files, and stops the
processes. Each run uses fresh topics and a fresh store, so running it twice works; the figures
depend on the seed, not on the number of workers.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from haocha import settings as settings_mod

SHANGHAI = ZoneInfo("Asia/Shanghai")


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the platform on a simulated month and print its report")
    p.add_argument("--month", default="2021-05")
    p.add_argument("--reviews", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--as-of", default="2021-06-10T00:00:00+08:00", help="the report's as-of time")
    p.add_argument("--out", type=Path, default=Path("out/demo"))
    p.add_argument("--workers", type=int, default=1,
                   help="stream workers; with 2 or more the ClickHouse writer runs apart (`haocha sink`) and "
                        "serves the API and console")
    p.add_argument("--keep-console", action="store_true",
                   help="after the report, leave the platform and its web console running with demo users "
                        "(printed) until Ctrl-C")
    p.set_defaults(func=run)


# Console sign-ins printed by `--keep-console`: the simulated staff get a password, so a person can
# look at the queues the simulation left behind (the forgotten tickets stay open and overdue).
DEMO_PASSWORD = "haocha-demo-2021"
DEMO_ADMIN = "demo-admin"
DEMO_MANAGER = "demo-manager"


def say(msg: str) -> None:
    print(f"[demo] {msg}", file=sys.stderr, flush=True)


def run(args) -> int:
    from apps.simulate.deployment import local_deployment

    started = time.monotonic()
    run_id = datetime.now().strftime("%Y%m%d%H%M%S")
    base = settings_mod.load()
    data_dir = Path(".run/demo") / run_id
    s = base.model_copy(update={"topic_prefix": f"demo{run_id}", "app_id": f"haocha-demo{run_id}",
                                "data_dir": data_dir, "deadline_sweep_seconds": 0})
    token = secrets.token_urlsafe(24)
    deployment = local_deployment(s, args.workers, data_dir, {"HAOCHA_ADMIN_TOKEN": token})
    workers = f"{len(deployment.workers)} worker{'s' if len(deployment.workers) > 1 else ''}"
    say(f"topics {s.topic_prefix}.*, store {s.dsn}")
    say(deployment.describe())
    from haocha.adapters.kafka import ensure_topics

    asyncio.run(ensure_topics(s))
    deployment.start()
    try:
        deployment.wait_ready()
        say(f"{workers} ready; API and console at {s.worker_url}")
        figures = asyncio.run(_month(s, args, token, workers))
        for line in deployment.shares():
            say(line)
        report = _report(s, args, token)
        if args.keep_console:
            _keep_console(s, deployment.api)
    finally:
        say(f"stopping the {workers}" + ("" if deployment.api in deployment.workers else " and the writer"))
        deployment.stop()
    wall = time.monotonic() - started
    say(f"done in {wall:,.0f} s: {figures['messages']:,} messages at {figures['reviews_per_second']:,} reviews/s "
        f"through {workers}; {figures['commands']:,} officer commands; report files in {args.out}/")
    print(f"demo wall time: {wall:.1f} s; {workers} throughput: {figures['reviews_per_second']} reviews/s")
    return 0 if report else 1


async def _month(s, args, token, workers: str = "worker") -> dict:
    from apps.commands.simulate import send_traffic
    from apps.simulate.officers import list_all_tickets, work_tickets
    from apps.simulate.pipeline import wait_caught_up
    from apps.simulate.progress import Progress
    from apps.simulate.traffic import TrafficPlan

    say(f"simulating {args.month}: {args.reviews:,} reviews over the halls' working days")
    figures = await send_traffic(s, TrafficPlan(month=args.month, reviews=args.reviews, seed=args.seed),
                                 who=workers)
    # send_traffic waited until the writer had committed everything: the tickets are in ClickHouse,
    # where the queue is read from.
    tickets = await list_all_tickets(s.worker_url, token)
    say(f"{len(tickets):,} rectification tickets opened; simulated officers at work")
    progress = Progress("officers working tickets", total=len(tickets))
    as_of = datetime.fromisoformat(args.as_of)
    stats = await work_tickets(s.worker_url, token, tickets, seed=args.seed, not_after=as_of,
                               on_progress=progress.update)
    progress.done(stats["tickets"], f"{stats['commands']:,} commands, {stats['refused']} refused")
    await wait_caught_up(s)  # the writer's API sweeps the tickets open in the store: let it have them all
    await _sweep(s, token, as_of)
    await wait_caught_up(s)
    return {**figures, **stats}


async def _sweep(s, token, at: datetime) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=s.worker_url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=300) as client:
        resp = await client.post("/api/v1/admin/sweep", json={"at": at.isoformat()})
        if resp.status_code == 200:
            say(f"deadline sweep as of {at:%Y-%m-%d}: {resp.json()}")


def _keep_console(s, api) -> None:
    from haocha.auth.tokens import hash_secret
    from haocha.auth.users import UserFile

    users = UserFile(s.users_path())
    digest = hash_secret(DEMO_PASSWORD)
    for user in users.all():
        users.update(user.id, password_hash=digest)
    users.add(DEMO_ADMIN, "admin", password_hash=digest, with_token=False)
    users.add(DEMO_MANAGER, "manager", password_hash=digest, with_token=False)
    rows = sorted((u.role, u.id, u.department_id or "") for u in users.all())
    print(f"\n网页控制台 console: {api.url}/console/   (password for every user below: {DEMO_PASSWORD})")
    print(f"  {'role':<11} {'user id':<24} department")
    for role, user_id, dept in rows:
        print(f"  {role:<11} {user_id:<24} {dept}")
    print("Ctrl-C stops the platform and the broker.", flush=True)
    try:
        while api.proc.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        say("stopping")


def _report(s, args, token) -> bool:
    import os

    from apps.commands.report import get_monthly
    from apps.report.export import write_files
    from apps.report.render_text import render_text

    say(f"monthly report {args.month} as of {args.as_of}")
    os.environ["HAOCHA_API_TOKEN"] = token  # the store is the API's process's: ask the API
    rep, source = get_monthly(s, args.month, args.as_of)
    print(render_text(rep, limit=15))
    for path in write_files(rep, ["xlsx", "pdf", "html", "json", "csv"], args.out):
        say(f"wrote {path}")
    return True
