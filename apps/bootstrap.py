"""The composition root: the one place where ports meet their adapters. Every process is built
here, explicitly: the worker (agents, its store and the HTTP API it serves), the ClickHouse writer
(`haocha sink`, and the HTTP API when the embedded store is its own) and the gateway."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.adapters.clock import Clock, SystemClock
from haocha.domain.directory import Directory
from haocha.settings import Settings

if TYPE_CHECKING:  # imported where used, so the gateway process never loads the worker and back
    from apps.api.hosts import ApiHost
    from apps.api.service import ApiService
    from apps.gateway.server import GatewayParts
    from sinks.clickhouse import ClickHouseStore
    from streams.app import Deps
    from streams.hops import Hops

log = logging.getLogger(__name__)


def build_deps(settings: Settings, clock: Clock | None = None):
    from streams.app import Deps

    calendar = ChineseWorkingCalendar(settings.calendar_overrides)
    return Deps(settings=settings, directory=Directory.load(settings.directory_file), calendar=calendar,
                clock=clock or SystemClock())


def build_store(settings: Settings):
    """The ClickHouse store, migrated."""
    from sinks.clickhouse import ClickHouseStore

    store = ClickHouseStore(settings.dsn, settings.clickhouse_database, settings.timezone)
    store.migrate()
    return store


def worker_reads_store(settings: Settings) -> bool:
    """The worker opens the store when it runs the writer, or when the store is a server (its API
    then reads it too); an embedded store run apart belongs to `haocha sink` alone."""
    return settings.sink_in_worker or not settings.embedded_store


def sink_serves_api(settings: Settings) -> bool:
    return settings.embedded_store if settings.sink_api is None else settings.sink_api


def build_stream_app(settings: Settings, clock: Clock | None = None, with_store: bool | None = None):
    """The worker: the review hop, the ticket agent, the ClickHouse writer and store when it runs
    them (`sink_in_worker`), and the HTTP API it serves."""
    from apps.api.hosts import WorkerHost
    from streams import deadline_sweep, ticket_agent
    from streams.app import StreamApp
    from streams.hops import HopsService

    deps = build_deps(settings, clock)
    sa = StreamApp(deps)
    if worker_reads_store(settings) if with_store is None else with_store:
        deps.store = build_store(settings)
    sa.hops = HopsService(sa)  # the review hop (and the ClickHouse writer), on plain aiokafka
    sa.app.service(sa.hops)
    ticket_agent.register(sa)
    deadline_sweep.register(sa)
    sa.app.service(build_api(deps, WorkerHost(sa)))  # served by the worker, started after its tables
    return sa


def build_api(deps: Deps, host: ApiHost) -> ApiService:
    """The HTTP API and console: a command bus on the deployment's topics, its users, and what the
    process serving it lends it (`host`: the worker's ticket table, or nothing but a producer)."""
    from apps.api.service import ApiService
    from haocha.adapters.command_bus import KafkaCommandBus
    from haocha.auth.bearer import authenticator_for
    from schemas import topics as t

    s = deps.settings
    bus = KafkaCommandBus(s, s.topic(t.TICKET_COMMANDS.name), s.topic(t.TICKET_OUTCOMES.name),
                          timeout=s.command_timeout_seconds)
    return ApiService(deps, bus, authenticator_for(s), host)


def build_gateway(settings: Settings, clock: Clock | None = None) -> GatewayParts:
    """The terminal gateway: its registry and the stream's verdicts read from Kafka, reviews and
    dead letters published to Kafka, outcomes remembered in its own SQLite file."""
    from apps.gateway.classified import ClassifiedTail
    from apps.gateway.crypto import KeySealer
    from apps.gateway.idempotency import IdempotencyStore
    from apps.gateway.publisher import KafkaPublisher
    from apps.gateway.registry import KafkaRegistry
    from apps.gateway.server import GatewayParts
    from apps.gateway.service import Gateway

    clock = clock or SystemClock()
    secret = settings.secret_key.get_secret_value()
    if secret == "change-me-in-production":
        log.warning("HAOCHA_SECRET_KEY is the default: terminal keys are sealed with a known secret")
    store = IdempotencyStore(settings.data_dir / "gateway" / "idempotency.sqlite")
    publisher = KafkaPublisher(settings, settings.gateway_produce_timeout_seconds, clock)
    registry = KafkaRegistry(settings, KeySealer(secret))
    keep_seconds = settings.gateway_idempotency_days * 86400
    tail = ClassifiedTail(settings, store, keep_seconds) if settings.gateway_classified_tail else None
    gateway = Gateway(settings, Directory.load(settings.directory_file), registry, publisher, store, clock)
    return GatewayParts(gateway=gateway, publisher=publisher, registry=registry, store=store, tail=tail)


@dataclass
class WriterParts:
    hops: Hops
    store: ClickHouseStore
    api: ApiService | None


def build_writer(settings: Settings, clock: Clock | None = None) -> WriterParts:
    """`haocha sink`: the ClickHouse writer, the store it owns, and the HTTP API and console when
    they read that store here (`sink_serves_api`). The writer's inserts and the API's reads share
    the store's one thread, as in the worker."""
    from apps.api.hosts import StoreHost
    from streams.hops import Hops

    deps = build_deps(settings, clock)
    deps.store = build_store(settings)
    hops = Hops(settings)
    hops.add_writer(deps.store, deps.store_executor)
    api = build_api(deps, StoreHost(settings)) if sink_serves_api(settings) else None
    return WriterParts(hops=hops, store=deps.store, api=api)
