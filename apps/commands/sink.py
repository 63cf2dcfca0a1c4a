"""`haocha sink`: the ClickHouse writer as its own process (the worker runs it in-process unless
HAOCHA_SINK_IN_WORKER=false). Several may run against a ClickHouse server (http(s)://) in one
consumer group; an embedded store (chdb://) opens in one process, so one writer owns it, and it
serves the HTTP API and console too (whatever reads the store lives where it opens; commands
still go through Kafka to the workers). HAOCHA_SINK_API says otherwise (docs/deploy.md)."""

from __future__ import annotations

import asyncio
import logging
import signal

from haocha import settings as settings_mod

log = logging.getLogger(__name__)


def register(sub) -> None:
    p = sub.add_parser("sink", help="run the ClickHouse writer (reviews, tickets, alerts, dead letters), "
                                    "and the HTTP API when it owns the embedded store")
    p.set_defaults(func=run)


def run(args) -> int:
    from haocha.adapters.kafka import ensure_topics

    s = settings_mod.load()
    asyncio.run(ensure_topics(s))
    return asyncio.run(_serve(s))


async def _serve(s) -> int:
    from apps.bootstrap import build_writer

    parts = build_writer(s)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await parts.hops.start()
        log.info("ClickHouse writer running (%s)", s.dsn.split("@")[-1])
        if parts.api is not None:
            await parts.api.start()
        await stop.wait()
    finally:
        if parts.api is not None:
            await parts.api.stop()  # no new reads or commands
        await parts.hops.stop()  # the batch in flight is written and committed first
        parts.store.close()
    return 0
