"""`haocha gateway`: the gateway as its own process, wired to Kafka.

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

from haocha.domain.directory import Directory
from apps.gateway.app import create_app
from apps.gateway.classified import ClassifiedTail
from apps.gateway.crypto import KeySealer
from apps.gateway.idempotency import IdempotencyStore
from apps.gateway.registry import KafkaRegistry
from apps.gateway.service import Gateway
from apps.gateway.sink import KafkaSink
from haocha.settings import Settings

log = logging.getLogger("apps.gateway")

PURGE_EVERY_SECONDS = 3600


@dataclass
class Running:
    gateway: Gateway
    app: web.Application
    url: str


@asynccontextmanager
async def running_gateway(settings: Settings, *, host: str | None = None,
                          port: int | None = None):
    """The whole gateway on a real socket; used by `haocha gateway`, the tests and the benchmark."""
    secret = settings.secret_key.get_secret_value()
    if secret == "change-me-in-production":
        log.warning("HAOCHA_SECRET_KEY is the default: terminal keys are sealed with a known secret")
    sealer = KeySealer(secret)
    store = IdempotencyStore(settings.data_dir / "gateway" / "idempotency.sqlite")
    sink = KafkaSink(settings, settings.gateway_produce_timeout_seconds)
    registry = KafkaRegistry(settings, sealer)
    tail = ClassifiedTail(settings, store, settings.gateway_idempotency_days * 86400) if settings.gateway_classified_tail else None
    gateway = Gateway(settings, Directory.load(settings.directory_path), registry, sink, store)
    app = create_app(gateway)
    runner = web.AppRunner(app, access_log=None)
    purge: asyncio.Task | None = None
    await sink.start()
    try:
        await registry.start()
        if tail:
            await tail.start()
        purge = asyncio.create_task(_purge(store, settings.gateway_idempotency_days * 86400))
        await runner.setup()
        host = host or settings.gateway_host
        port = settings.gateway_port if port is None else port
        site = web.TCPSite(runner, host, port, shutdown_timeout=30)
        await site.start()
        log.info("gateway serving on http://%s:%s (%d terminals)", host, port, len(registry))
        yield Running(gateway, app, f"http://{host}:{port}")
    finally:
        await runner.cleanup()
        if purge:
            purge.cancel()
        if tail:
            await tail.stop()
        await registry.stop()
        await sink.stop()
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


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running_gateway(settings):
        await stop.wait()
        log.info("gateway stopping")
