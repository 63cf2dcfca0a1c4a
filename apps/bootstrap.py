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


def build_store(settings: Settings):
    """The ClickHouse store, migrated, and the one thread its calls run in."""
    from concurrent.futures import ThreadPoolExecutor

    from sinks.clickhouse import ClickHouseStore

    store = ClickHouseStore(settings.dsn, settings.clickhouse_database)
    store.migrate()
    return store, ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")


def build_stream_app(settings: Settings, clock: Clock | None = None, with_store: bool | None = None):
    """The worker: the review hop, the ticket agent, the ClickHouse writer and store when it runs
    them (`sink_in_worker`), and the HTTP API it serves."""
    from apps.api import service as api_service
    from streams import deadline_sweep, hops, ticket_agent
    from streams.app import StreamApp

    deps = build_deps(settings, clock)
    sa = StreamApp(deps)
    if settings.sink_in_worker if with_store is None else with_store:
        deps.store, sa.store_executor = build_store(settings)
    hops.register(sa)
    ticket_agent.register(sa)
    deadline_sweep.register(sa)
    api_service.register(sa)  # the HTTP API is served by the worker
    return sa


def build_writer(settings: Settings):
    """`haocha sink`: the ClickHouse writer alone, and the store it owns."""
    from streams.hops import Hops

    store, executor = build_store(settings)
    hops = Hops(settings)
    hops.add_writer(store, executor)
    return hops, store
