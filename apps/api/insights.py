"""Read-only insights for managers and staff: the monthly report, statistics, the satisfaction
heat map and real-time alerts (with acknowledgement). The worker owns the embedded store, so these
are how other processes read it while it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from haocha.adapters.clock import Clock
from apps.api import params
from apps.api.commands import BadRequest
from apps.api.http import body_of, caller, json_response
from haocha.domain.directory import Directory
from haocha.domain.calendar import WorkingCalendar
from sinks import alerts_read


@dataclass
class InsightsContext:
    run_store: Callable[..., Awaitable[Any]]  # run a store function on the store's own thread
    store: Any
    directory: Directory
    calendar: WorkingCalendar
    clock: Clock
    publish_ack: Callable[[Any], Awaitable[None]]


INSIGHTS = web.AppKey("insights", InsightsContext)


async def monthly_report(request: web.Request) -> web.Response:
    from apps.report.monthly import build_monthly_report, month_bounds, parse_as_of

    actor = caller(request)
    ix, q = request.app[INSIGHTS], request.query
    month = params.required(q, "month")
    try:
        month_bounds(month)
        as_of = parse_as_of(q.get("as_of") or None)
    except ValueError as exc:
        raise BadRequest(422, str(exc)) from None
    rep = await ix.run_store(build_monthly_report, ix.store, month, as_of, ix.directory, ix.calendar)
    if actor.role == "officer":
        rep = own_tickets_only(rep, actor.department_id)
    return web.Response(body=rep.model_dump_json(), content_type="application/json")


def own_tickets_only(rep, department_id: str | None):
    """An officer's copy of the report: every department's figures (they are published), but the
    lists of single tickets (ids, windows, reasons, stage) only of the officer's own department, as
    the queue shows them."""
    return rep.model_copy(update={
        "open_tickets": [t for t in rep.open_tickets if t.department_id == department_id],
        "carry_over": [t for t in rep.carry_over if t.department_id == department_id]})


async def stats(request: web.Request) -> web.Response:
    from sinks import queries

    caller(request)
    ix, q = request.app[INSIGHTS], request.query
    scope = params.choice(q, "scope", queries.SCOPES, "window")
    gran = params.choice(q, "granularity", queries.GRANULARITIES, "day")
    start, end = params.time(q, "from"), params.time(q, "to")
    ids = q.getall("id", None)
    rows = await ix.run_store(queries.stats, ix.store, scope, gran, start, end, ids)
    return json_response({"scope": scope, "granularity": gran, "rows": rows})


async def heatmap(request: web.Request) -> web.Response:
    from sinks import queries

    caller(request)
    ix, q = request.app[INSIGHTS], request.query
    start, end = params.time(q, "from"), params.time(q, "to")
    scope = params.choice(q, "scope", queries.SCOPES)
    rows = await ix.run_store(queries.heatmap, ix.store, start, end, scope, q.get("id") or None)
    return json_response({"cells": rows})


async def list_alerts(request: web.Request) -> web.Response:
    actor = caller(request)
    ix, q = request.app[INSIGHTS], request.query
    department = actor.department_id if actor.role == "officer" else (q.get("department") or "")
    rows = await ix.run_store(alerts_read.list_alerts, ix.store, bool(params.boolean(q, "open")), department or "",
                              params.integer(q, "limit", 200, 1, 5000))
    return json_response({"alerts": rows})


async def acknowledge_alert(request: web.Request) -> web.Response:
    from schemas.alerts import AlertAcknowledged, AlertEnvelope

    actor = caller(request)
    if actor.role == "manager":
        raise BadRequest(403, "managers read alerts; staff acknowledge them")
    ix = request.app[INSIGHTS]
    alert_id = request.match_info["alert_id"]
    found = await ix.run_store(alerts_read.alert_scope, ix.store, alert_id)
    if found is None:
        raise BadRequest(404, f"no alert {alert_id}")
    window_id, department_id = found
    if actor.role == "officer" and actor.department_id != department_id:
        raise BadRequest(403, f"alert belongs to {department_id}")
    body = await body_of(request)
    note = str(body.get("note", ""))[:500] if isinstance(body, dict) else ""
    ack = AlertAcknowledged(alert_id=alert_id, window_id=window_id, by=actor.id, note=note,
                            acknowledged_at=ix.clock.now())
    await ix.publish_ack(AlertEnvelope(event=ack))
    return json_response(ack.model_dump(mode="json"), 202)


def add_routes(app: web.Application, ctx: InsightsContext) -> None:
    app[INSIGHTS] = ctx
    app.router.add_get("/api/v1/reports/monthly", monthly_report)
    app.router.add_get("/api/v1/stats", stats)
    app.router.add_get("/api/v1/stats/heatmap", heatmap)
    app.router.add_get("/api/v1/alerts", list_alerts)
    app.router.add_post("/api/v1/alerts/{alert_id}/ack", acknowledge_alert)


def openapi_paths() -> dict:
    obj = {"description": "JSON", "content": {"application/json": {"schema": {"type": "object"}}}}
    q = lambda name, desc, required=False: {"name": name, "in": "query", "required": required,  # noqa: E731
                                            "schema": {"type": "string"}, "description": desc}
    return {
        "/api/v1/reports/monthly": {"get": {"summary": "the monthly rectification-rate report (docs/report.md)",
                                            "parameters": [q("month", "YYYY-MM", True), q("as_of", "ISO time (default now)")],
                                            "responses": {"200": obj, "422": obj}}},
        "/api/v1/stats": {"get": {"summary": "metrics per window/department/hall and hour/day/week/month",
                                  "parameters": [q("scope", "window|department|hall"), q("granularity", "hour|day|week|month"),
                                                 q("from", "ISO time", True), q("to", "ISO time", True), q("id", "filter ids")],
                                  "responses": {"200": obj, "422": obj}}},
        "/api/v1/stats/heatmap": {"get": {"summary": "satisfaction by weekday and hour of day",
                                          "parameters": [q("from", "ISO time", True), q("to", "ISO time", True),
                                                         q("scope", "window|department|hall"), q("id", "scope id")],
                                          "responses": {"200": obj}}},
        "/api/v1/alerts": {"get": {"summary": "bad-review spikes, newest first",
                                   "parameters": [q("open", "true: unacknowledged only"), q("department", "department id")],
                                   "responses": {"200": obj}}},
        "/api/v1/alerts/{alert_id}/ack": {"post": {"summary": "acknowledge an alert",
                                                   "parameters": [{"name": "alert_id", "in": "path", "required": True,
                                                                   "schema": {"type": "string"}}],
                                                   "responses": {"202": obj, "404": obj, "403": obj}}},
    }
