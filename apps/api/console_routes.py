"""Everything the web console adds to the worker's HTTP API, installed in one call."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from apps.api import admin, console, evidence, events_stream
from apps.api.console_context import API, CONSOLE, ConsoleContext


def install(app: web.Application, ctx: ConsoleContext, api: Any) -> None:
    """`api`: the ticket API's ApiContext (its reader, the worker's table, its clock)."""
    app[CONSOLE], app[API] = ctx, api
    if ctx.hub is not None:
        events_stream.add_routes(app, ctx.hub)
    evidence.add_routes(app)
    admin.add_routes(app, ctx.admin)
    console.add_routes(app, ctx.dist)
