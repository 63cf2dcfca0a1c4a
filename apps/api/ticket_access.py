"""One ticket as the caller may see it: from the worker's own table when it holds the ticket (no
sink lag), else from ClickHouse; 404 when there is none, 403 for another department's officer."""

from __future__ import annotations

from aiohttp import web

from apps.api.commands import BadRequest
from apps.api.console_context import API
from apps.api.views import state_view
from schemas.tickets import Actor


def may_see(actor: Actor, department_id: str) -> bool:
    return actor.role != "officer" or actor.department_id == department_id


async def visible_ticket(request: web.Request, actor: Actor, ticket_id: str) -> dict:
    api = request.app[API]
    state = api.local_state(ticket_id)
    ticket = state_view(state) if state is not None else await api.reader.get(ticket_id)
    if ticket is None:
        raise BadRequest(404, f"no ticket {ticket_id}")
    if not may_see(actor, ticket["department_id"]):
        raise BadRequest(403, f"ticket belongs to {ticket['department_id']}, not to {actor.department_id}")
    return ticket
