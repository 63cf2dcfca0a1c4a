"""The HTTP API inside the worker: a mode.Service started with the Faust app (after its tables are
recovered) and stopped with it, so SIGTERM closes the listening socket and the command bus.
Built by the composition root (`apps.bootstrap.build_api`), which gives it its bus and its users."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from aiohttp import web
from faust.streams import _current_event
from mode import Service

from apps.api.app import ApiContext, build_app
from apps.api.commands import BadRequest
from apps.api.console_build import build_console
from apps.api.insights import InsightsContext
from apps.api.reader import ClickHouseTicketReader, TicketFilter
from apps.http_limits import HttpGuard
from apps.api.reads import StoreReads
from haocha.adapters.command_bus import KafkaCommandBus
from haocha.auth.bearer import Authenticator
from haocha.domain.tickets import DecisionContext, TicketState
from streams.app import Outbox, StreamApp
from streams.deadline_sweep import due_checks, local_states

log = logging.getLogger(__name__)


class _NoStore:
    """A worker built without ClickHouse still takes commands; reads answer 503."""

    async def list(self, f: TicketFilter):
        raise BadRequest(503, "this worker has no ClickHouse store")

    get = events = counts = list


class ApiService(Service):
    def __init__(self, stream_app: StreamApp, bus: KafkaCommandBus, authenticator: Authenticator, **kwargs):
        super().__init__(**kwargs)
        self.stream_app = stream_app
        self.api_settings = stream_app.deps.settings
        self.bus = bus
        self.authenticator = authenticator
        self.runner: web.AppRunner | None = None

    async def on_start(self) -> None:
        sa, s = self.stream_app, self.stream_app.deps.settings
        await self.bus.start()  # at the end of the outcomes topic before any command can be sent
        store = sa.deps.store
        self.reads = StoreReads(sa.deps.store_executor, s.api_read_concurrency)
        reader = ClickHouseTicketReader(store, self.reads) if store is not None else _NoStore()
        ctx = ApiContext(auth=self.authenticator, bus=self.bus, reader=reader, clock=sa.deps.clock,
                         local_state=self._local_state, sweep=self._sweep, ready=self._ready,
                         command_timeout=self.api_settings.command_timeout_seconds,
                         list_limit_max=self.api_settings.list_limit_max,
                         insights=self._insights() if store is not None else None,
                         console=build_console(sa.deps, self._local_state, reader, sa.events.get_topic_name()),
                         check=self._check if store is not None else None)
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
        self.authenticator.checker.close()

    def _insights(self) -> InsightsContext:
        sa = self.stream_app

        async def publish_ack(envelope) -> None:
            out = Outbox(sa.app)
            await out.send(sa.alerts.get_topic_name(), envelope.event.window_id.encode(),
                           envelope.model_dump_json().encode())
            await out.delivered()  # acknowledged only once it is in the log

        return InsightsContext(run_store=self.reads.run, store=sa.deps.store, directory=sa.deps.directory,
                               calendar=sa.deps.calendar, clock=sa.deps.clock, publish_ack=publish_ack)

    def _ready(self) -> bool:
        return self.runner is not None and self.bus.started and not self.stream_app.app.rebalancing

    def _local_state(self, ticket_id: str) -> TicketState | None:
        # Outside an agent there must be no "current event": with one, Faust's store looks only in
        # that event's partition. Without, it finds the key in whichever local partition holds it.
        _current_event.set(None)
        raw = self.stream_app.tickets.get(ticket_id)
        return None if raw is None else TicketState.model_validate(raw)

    async def _check(self) -> dict:
        from apps.simulate.pipeline import pipeline_lag
        from sinks.check import check

        sa, s = self.stream_app, self.stream_app.deps.settings
        loop = asyncio.get_running_loop()

        async def run_store(fn, *args):
            return await loop.run_in_executor(sa.deps.store_executor, fn, *args)

        async def lag() -> int:
            return sum((await pipeline_lag(s)).values())

        return await check(s, run_store, sa.deps.store, lag)

    async def _sweep(self, at: datetime) -> dict:
        """Like the periodic sweep, but at a given time and waiting for the outcomes, so the caller
        (the simulator) sees the warnings as soon as it gets the answer."""
        deps = self.stream_app.deps
        ctx = DecisionContext(calendar=deps.calendar, policy=deps.policy)
        checked, commands = due_checks(local_states(self.stream_app), at, ctx)
        outcomes = await asyncio.gather(*(self.bus.send(c) for c in commands))
        return {"at": at.isoformat(), "checked": checked, "commands": len(commands),
                "events": sum(len(o.events) for o in outcomes)}
