"""Routes. Handlers only parse, check who may see what, and hand commands to the bus; the ticket
itself decides whether a command is legal and whether this actor may issue it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from haocha.adapters.clock import Clock
from apps.api import console_routes, params, session, ticket_detail
from apps.api.console_context import ConsoleContext
from apps.api.ticket_detail import queue_filters
from apps.api.auth_gate import authenticate
from apps.api.commands import BadRequest, build_envelope, parse_at
from apps.api.http import AUTH, body_of, caller, error, errors, json_response
from apps.api.insights import InsightsContext, add_routes
from apps.api.openapi import openapi_document
from apps.api.reader import TicketFilter, TicketReader
from apps.api.views import event_view, http_status, outcome_view, state_view, with_time_left
from haocha.auth.bearer import Authenticator
from haocha.domain.tickets import TicketState
from schemas.tickets import Actor, RevealPhone, TicketCommandEnvelope
from haocha.adapters.command_bus import CommandBus

log = logging.getLogger(__name__)


@dataclass
class ApiContext:
    auth: Authenticator
    bus: CommandBus
    reader: TicketReader
    clock: Clock
    local_state: Callable[[str], TicketState | None]  # the worker's table, None if not local
    sweep: Callable[[datetime], Awaitable[dict]]
    # A ticket's events 1..version shaped as the store's rows, None unless the worker holds them all.
    local_history: Callable[[str, int], list[dict] | None] = lambda ticket_id, version: None
    ready: Callable[[], bool] = lambda: True
    command_timeout: float = 15.0
    list_limit_max: int = 5000
    insights: "InsightsContext | None" = None  # reports, stats, alerts (when the worker has a store)
    console: "ConsoleContext | None" = None  # the web console's endpoints and files
    check: Callable[[], Awaitable[dict]] | None = None  # every read model against the log (sinks/check.py)


CTX = web.AppKey("ctx", ApiContext)


def _can_see(actor: Actor, department_id: str) -> bool:
    return actor.role != "officer" or actor.department_id == department_id


# ---------------------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    if request.app[CTX].ready():
        return json_response({"status": "ok"})
    return json_response({"status": "starting"}, 503)


async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document())


async def me(request: web.Request) -> web.Response:
    return json_response(caller(request).model_dump())


async def list_tickets(request: web.Request) -> web.Response:
    ctx, actor, q = request.app[CTX], caller(request), request.query
    department = q.get("department") or None
    if actor.role == "officer":
        if department and department != actor.department_id:
            raise BadRequest(403, f"an officer of {actor.department_id} sees only that department's tickets")
        department = actor.department_id
    at = params.time(q, "at", ctx.clock.now())
    f = TicketFilter(department=department, window=q.get("window") or None, state=q.get("state") or None,
                     overdue=params.boolean(q, "overdue"), at=at,
                     limit=params.integer(q, "limit", 500, 1, ctx.list_limit_max),
                     offset=params.integer(q, "offset", 0, 0, 10**9), **queue_filters(q))
    rows, total = await ctx.reader.list(f)
    return json_response({"tickets": [with_time_left(r, at) for r in rows], "total": total,
                          "counts": await ctx.reader.counts(f), "at": at.isoformat()})


async def show_ticket(request: web.Request) -> web.Response:
    ctx, actor, q = request.app[CTX], caller(request), request.query
    tid = request.match_info["ticket_id"]
    at = params.time(q, "at", ctx.clock.now())
    params.boolean(q, "fresh")  # still accepted (and checked): every detail is as fresh now
    # The worker's own table first, for every caller: it is current once an outcome is answered,
    # while the store lags the log by a sink batch and its one thread is shared with the writer's
    # inserts (a detail read behind one waited up to ~1 s at 1,000 reviews/s). The store answers
    # for a ticket this process does not hold (another worker's partition, or `haocha sink`).
    state = ctx.local_state(tid)
    if state is not None:
        ticket, source = state_view(state), "worker-table"
    else:
        ticket, source = await ctx.reader.get(tid), "clickhouse"
    # From the table, with the whole history held here too: no store read.
    history = ctx.local_history(tid, state.version) if state is not None else None
    if ticket is None:
        return error(404, f"no ticket {tid}")
    if not _can_see(actor, ticket["department_id"]):
        return error(403, f"ticket belongs to {ticket['department_id']}, not to {actor.department_id}")
    events = [event_view(e) for e in (history if history is not None else await ctx.reader.events(tid))]
    more = {} if ctx.console is None else ticket_detail.extras(request, actor, ticket, events, state, at)
    return json_response({**with_time_left(ticket, at), "events": ticket_detail.with_timeline(events),
                          "source": source, **more})


async def post_command(request: web.Request) -> web.Response:
    ctx, actor = request.app[CTX], caller(request)
    tid = request.match_info["ticket_id"]
    cmd = build_envelope(await body_of(request), tid, actor, ctx.clock.now(), ctx.auth.active_actor)
    outcome = await ctx.bus.send(cmd, timeout=ctx.command_timeout)
    log.info("command %s %s on %s by %s/%s: %s", cmd.command_id, cmd.command.kind, tid, cmd.actor.role,
             cmd.actor.id, outcome.status)
    return json_response(outcome_view(outcome), http_status(outcome))


async def reveal_phone(request: web.Request) -> web.Response:
    """The view is recorded (PhoneViewed) before the number is shown; the ticket decides who may, and
    the worker holding it answers with the number."""
    ctx, actor = request.app[CTX], caller(request)
    tid = request.match_info["ticket_id"]
    if actor.role != "officer":
        return error(403, "only the officer handling the ticket may see the phone number")
    cmd = TicketCommandEnvelope(command_id=f"phone:{uuid.uuid4()}",
                                ticket_id=tid, issued_at=ctx.clock.now(), actor=actor, command=RevealPhone())
    outcome = await ctx.bus.send(cmd, timeout=ctx.command_timeout)
    log.info("phone of %s viewed by %s: %s", tid, actor.id, outcome.status)
    if outcome.status != "accepted":
        return json_response(outcome_view(outcome), http_status(outcome))
    # From the outcome, not a local table: any process serving the API shows it (the writer too).
    return json_response({"ticket_id": tid, "phone": outcome.phone, "version": outcome.version,
                          "recorded": True})  # the PhoneViewed event is in the log


async def admin_sweep(request: web.Request) -> web.Response:
    ctx, actor = request.app[CTX], caller(request)
    if actor.role != "admin":
        return error(403, "only an admin may run the deadline sweep")
    body = await body_of(request)
    raw_at = body.get("at") if isinstance(body, dict) else None
    at = parse_at(raw_at) if raw_at else ctx.clock.now()
    return json_response(await ctx.sweep(at))


async def admin_check(request: web.Request) -> web.Response:
    """Every read model in the store against a fold of the log. Served by the worker because the
    embedded store opens in one process at a time; `haocha check` asks here when a worker runs."""
    ctx, actor = request.app[CTX], caller(request)
    if actor.role != "admin":
        return error(403, "only an admin may run the check")
    if ctx.check is None:
        return error(503, "this worker has no ClickHouse store")
    return json_response(await ctx.check())


def build_app(ctx: ApiContext) -> web.Application:
    app = web.Application(middlewares=[errors, authenticate], client_max_size=1 << 20)
    app[CTX] = ctx
    app[AUTH] = ctx.auth
    app.router.add_get("/api/v1/health", health)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_get("/api/v1/me", me)
    app.router.add_get("/api/v1/tickets", list_tickets)
    app.router.add_get("/api/v1/tickets/{ticket_id}", show_ticket)
    app.router.add_post("/api/v1/tickets/{ticket_id}/commands", post_command)
    app.router.add_post("/api/v1/tickets/{ticket_id}/phone", reveal_phone)
    app.router.add_post("/api/v1/admin/sweep", admin_sweep)
    app.router.add_get("/api/v1/admin/check", admin_check)
    session.add_routes(app)
    if ctx.console is not None:
        console_routes.install(app, ctx.console, ctx)
    if ctx.insights is not None:
        add_routes(app, ctx.insights)
    return app
