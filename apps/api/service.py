"""The HTTP API: a mode.Service started with the Faust app in the worker (after its tables are
recovered), or by `haocha sink` beside the store it owns, and stopped with it, so SIGTERM closes
the listening socket and the command bus. Built by the composition root (`apps.bootstrap.build_api`),
which gives it its bus, its users and its host (apps/api/hosts.py: what the process lends it)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from mode import Service

from apps.api.app import ApiContext, build_app
from apps.api.commands import BadRequest
from apps.api.console_build import build_console
from apps.api.hosts import ApiHost
from apps.api.insights import InsightsContext
from apps.api.reader import ClickHouseTicketReader, TicketFilter
from apps.http_limits import HttpGuard
from apps.api.reads import StoreReads
from apps.api.views import event_row
from haocha.adapters.command_bus import KafkaCommandBus
from haocha.auth.bearer import Authenticator
from haocha.domain.tickets import DecisionContext
from schemas import topics as t
from streams.app import Deps

log = logging.getLogger(__name__)


class _NoStore:
    """A worker built without ClickHouse still takes commands; reads answer 503."""

    async def list(self, f: TicketFilter):
        raise BadRequest(503, "this worker has no ClickHouse store (the writer, `haocha sink`, serves the reads)")

    get = events = counts = list


class ApiService(Service):
    def __init__(self, deps: Deps, bus: KafkaCommandBus, authenticator: Authenticator, host: ApiHost, **kwargs):
        super().__init__(**kwargs)
        self.deps = deps
        self.api_settings = deps.settings
        self.bus = bus
        self.authenticator = authenticator
        self.host = host
        self.runner: web.AppRunner | None = None

    async def on_start(self) -> None:
        deps, s = self.deps, self.deps.settings
        await self.bus.start()  # at the end of the outcomes topic before any command can be sent
        store = deps.store
        self.reads = StoreReads(deps.store_executor, s.api_read_concurrency)
        self.reader = ClickHouseTicketReader(store, self.reads) if store is not None else _NoStore()
        local_state = self.host.local_state
        ctx = ApiContext(auth=self.authenticator, bus=self.bus, reader=self.reader, clock=deps.clock,
                         local_state=local_state, local_history=self._local_history(), sweep=self._sweep,
                         ready=self._ready,
                         command_timeout=self.api_settings.command_timeout_seconds,
                         list_limit_max=self.api_settings.list_limit_max,
                         insights=self._insights() if store is not None else None,
                         console=build_console(deps, local_state, self.reader, s.topic(t.TICKET_EVENTS.name)),
                         check=self._check if store is not None else None)
        # The live queue hears this worker's own ticket events first-hand, not only back from Kafka.
        if ctx.console is not None and ctx.console.hub is not None:
            self.host.follow_events(ctx.console.hub.local_events)
        guard = HttpGuard.of(s, "api")  # slow and malformed clients, bounded as on the gateway
        self.runner = web.AppRunner(guard.app(build_app(ctx)), access_log=None, handle_signals=False)
        await self.runner.setup()
        await guard.site(self.runner, s.api_host, s.api_port, reuse_address=True).start()
        log.info("HTTP API on http://%s:%s (OpenAPI at /openapi.json)", s.api_host, s.api_port)

    async def on_stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()  # frees the port
            self.runner = None
        await self.bus.stop()
        await self.host.close()
        self.authenticator.checker.close()

    def _local_history(self):
        """The host's events of a ticket as the store would answer them (`ticket_events`)."""
        tz, history = ZoneInfo(self.api_settings.timezone), self.host.local_history

        def rows(ticket_id: str, version: int) -> list[dict] | None:
            raw = history(ticket_id, version)
            return None if raw is None else [event_row(e, tz) for e in raw]

        return rows

    def _insights(self) -> InsightsContext:
        deps, alerts = self.deps, self.deps.settings.topic(t.ALERTS.name)

        async def publish_ack(envelope) -> None:  # acknowledged only once it is in the log
            await self.host.publish(alerts, envelope.event.window_id.encode(), envelope.model_dump_json().encode())

        return InsightsContext(run_store=self.reads.run, store=deps.store, directory=deps.directory,
                               calendar=deps.calendar, clock=deps.clock, publish_ack=publish_ack)

    def _ready(self) -> bool:
        return self.runner is not None and self.bus.started and not self.host.rebalancing()

    async def _check(self) -> dict:
        from apps.simulate.pipeline import pipeline_lag
        from sinks.check import check

        deps, s = self.deps, self.deps.settings
        loop = asyncio.get_running_loop()

        async def run_store(fn, *args):
            return await loop.run_in_executor(deps.store_executor, fn, *args)

        async def lag() -> int:
            return sum((await pipeline_lag(s)).values())

        return await check(s, run_store, deps.store, lag)

    async def _sweep(self, at: datetime) -> dict:
        """Like the periodic sweep, but at a given time and waiting for the outcomes, so the caller
        (the simulator) sees the warnings as soon as it gets the answer."""
        deps = self.deps
        ctx = DecisionContext(calendar=deps.calendar, policy=deps.policy)
        checked, commands = await self.host.due_checks(at, ctx, self.reader)
        outcomes = await asyncio.gather(*(self.bus.send(c) for c in commands))
        return {"at": at.isoformat(), "checked": checked, "commands": len(commands),
                "events": sum(len(o.events) for o in outcomes)}
