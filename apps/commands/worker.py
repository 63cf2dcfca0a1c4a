"""`haocha worker`: the stream worker. It owns the embedded ClickHouse store while it runs."""

from __future__ import annotations

import asyncio
import logging

from haocha import settings as settings_mod


def register(sub) -> None:
    p = sub.add_parser("worker", help="run the stream worker (agents, sinks, HTTP API)")
    p.add_argument("--loglevel", default="info")
    p.set_defaults(func=run)


def run(args) -> int:
    import faust

    from apps.bootstrap import build_stream_app
    from haocha.adapters.kafka import ensure_topics

    s = settings_mod.load()
    created = asyncio.run(ensure_topics(s))
    if created:
        logging.getLogger(__name__).info("created topics: %s", ", ".join(created))
    sa = build_stream_app(s)
    for warning in sa.deps.calendar.coverage_warnings(sa.deps.clock.now().astimezone(sa.deps.calendar.tz).date()):
        logging.getLogger("haocha.calendar").warning(warning)  # deadlines need next year's 调休 schedule
    worker = faust.Worker(sa.app, loglevel=args.loglevel, quiet=True, override_logging=False)
    try:
        worker.execute_from_commandline()  # returns when the worker stops (SIGTERM/SIGINT)
    finally:
        if sa.deps.store is not None:
            sa.deps.store.close()
    return 0
