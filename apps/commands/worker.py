"""`haocha worker`: the stream worker, and the HTTP API. It owns the embedded ClickHouse store while
it runs unless the writer runs apart (HAOCHA_SINK_IN_WORKER=false: `haocha sink` owns it and serves
the reads; docs/deploy.md)."""

from __future__ import annotations

import asyncio
import logging

from haocha import settings as settings_mod


def register(sub) -> None:
    p = sub.add_parser("worker", help="run the stream worker (agents, sinks, HTTP API)")
    p.add_argument("--loglevel", default="info")
    p.set_defaults(func=run)


def faust_worker(app, loglevel: str, *services):
    import faust

    worker = faust.Worker(app, *services, loglevel=loglevel, quiet=True, override_logging=False)
    # Faust's start-up spinner writes cursor escapes (ESC[?25l / ESC[?25h) even when its output is a
    # file, and with our logging (override_logging=False) it never spins anyway: the log stays text.
    worker.spinner = None
    return worker


def run(args) -> int:
    from apps.bootstrap import build_stream_app
    from haocha.adapters.kafka import ensure_topics
    from streams import progress, readiness

    s = settings_mod.load()
    created = asyncio.run(ensure_topics(s))
    if created:
        logging.getLogger(__name__).info("created topics: %s", ", ".join(created))
    sa = build_stream_app(s)
    for warning in sa.deps.calendar.coverage_warnings(sa.deps.clock.now().astimezone(sa.deps.calendar.tz).date()):
        logging.getLogger("haocha.calendar").warning(warning)  # deadlines need next year's 调休 schedule
    progress.register(sa)
    worker = faust_worker(sa.app, args.loglevel, readiness.Readiness(sa))  # says what a start waits for
    try:
        worker.execute_from_commandline()  # returns when the worker stops (SIGTERM/SIGINT)
    finally:
        if sa.deps.store is not None:
            sa.deps.store.close()
    return 0
