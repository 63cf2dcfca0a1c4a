"""`haocha gateway`: the gateway as its own process, run from the parts the composition root built
(`apps.bootstrap.build_gateway`).

Start order: producer, registry (full read), classified tail, then the socket opens, so a request
never meets a half-started gateway. SIGTERM: stop accepting, let in-flight requests finish (their
reviews are acknowledged before they are answered), then close Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from apps.gateway.app import create_app
from apps.gateway.classified import ClassifiedTail
from apps.gateway.idempotency import IdempotencyStore
from apps.gateway.publisher import KafkaPublisher
from apps.gateway.registry import KafkaRegistry
from apps.gateway.service import Gateway
from apps.http_limits import HttpGuard

log = logging.getLogger("apps.gateway")

PURGE_EVERY_SECONDS = 3600


@dataclass
class GatewayParts:
    """What one gateway process runs; each part is started and stopped by `running_gateway`."""

    gateway: Gateway
    publisher: KafkaPublisher
    registry: KafkaRegistry
    store: IdempotencyStore
    tail: ClassifiedTail | None  # None: the stream's verdicts are not reported back


@dataclass
class Running:
    gateway: Gateway
    app: web.Application
    url: str


@asynccontextmanager
async def running_gateway(parts: GatewayParts, *, host: str | None = None, port: int | None = None):
    """The whole gateway on a real socket."""
    gateway, publisher, registry, store, tail = parts.gateway, parts.publisher, parts.registry, parts.store, parts.tail
    settings = gateway.settings
    guard = HttpGuard.of(settings, "gateway")
    app = guard.app(create_app(gateway))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=30)
    purge: asyncio.Task | None = None
    await publisher.start()
    try:
        await registry.start()
        if tail:
            await tail.start()
        purge = asyncio.create_task(_purge(store, settings.gateway_idempotency_days * 86400))
        await runner.setup()
        host = host or settings.gateway_host
        port = settings.gateway_port if port is None else port
        await guard.site(runner, host, port).start()
        log.info("gateway serving on http://%s:%s (%d terminals)", host, port, len(registry))
        yield Running(gateway, app, f"http://{host}:{port}")
    finally:
        await runner.cleanup()
        if purge:
            purge.cancel()
        if tail:
            await tail.stop()
        await registry.stop()
        await publisher.stop()
        store.close()


async def _purge(store: IdempotencyStore, keep_seconds: float) -> None:
    while True:
        try:
            n = store.purge(keep_seconds)
            if n:
                log.info("idempotency: %d records older than %.0f days purged", n, keep_seconds / 86400)
        except Exception as exc:
            log.warning("idempotency purge failed: %s", exc)
        await asyncio.sleep(PURGE_EVERY_SECONDS)


async def serve(parts: GatewayParts) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running_gateway(parts):
        await stop.wait()
        log.info("gateway stopping")
