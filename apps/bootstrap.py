"""The composition root: the one place where ports meet their adapters."""

from __future__ import annotations

import logging

from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.adapters.clock import Clock, SystemClock
from haocha.domain.directory import Directory
from haocha.settings import Settings

log = logging.getLogger(__name__)


def build_deps(settings: Settings, clock: Clock | None = None):
    from streams.app import Deps

    calendar = ChineseWorkingCalendar(settings.calendar_overrides)
    return Deps(settings=settings, directory=Directory.load(settings.directory_path), calendar=calendar,
                clock=clock or SystemClock())


def build_stream_app(settings: Settings, clock: Clock | None = None, with_store: bool = True):
    """The worker: Faust agents, the ClickHouse store it owns, and the HTTP API it serves."""
    from apps.api import service as api_service
    from streams import alerts, deadline_sweep, review_agents, sink_agents, ticket_agent
    from streams.app import StreamApp

    deps = build_deps(settings, clock)
    if with_store:
        from sinks.clickhouse import ClickHouseStore

        deps.store = ClickHouseStore(settings.dsn, settings.clickhouse_database)
        deps.store.migrate()
    sa = StreamApp(deps)
    review_agents.register(sa)
    ticket_agent.register(sa)
    sink_agents.register(sa)
    deadline_sweep.register(sa)
    alerts.register(sa)
    api_service.register(sa)  # the HTTP API is served by the worker
    return sa
