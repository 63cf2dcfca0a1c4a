"""What the console's ticket page shows beyond the ticket's row and history: the review as the
evaluator gave it (phones masked), the commands this caller may issue now (asked of the pure
domain), working days left per running deadline, evidence files, and the officers it may go to."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from apps.api import params
from apps.api.commands import BadRequest
from apps.api.console_context import CONSOLE
from apps.api.http import AUTH
from haocha.domain.deadlines import working_days_between
from haocha.domain.privacy import mask_phone, mask_phones_in_text
from haocha.domain.ticket_actions import allowed_commands
from haocha.domain.tickets import TicketState, fold_all
from schemas.tickets import Actor, TicketEventEnvelope

_REVIEW_FIELDS = ("rating", "reasons", "comment", "window_id", "hall_id", "staff_id", "item_name", "case_no",
                  "real_name", "phone", "happened_at")


def queue_filters(q) -> dict:
    """The console's queue filters: `month=YYYY-MM` (of the review), `q` (part of a reason) and
    `escalated=true|false`, as TicketFilter fields."""
    from apps.report.monthly import month_bounds

    out: dict = {}
    if q.get("month"):
        try:
            out["happened_from"], out["happened_to"] = month_bounds(q["month"])
        except ValueError as exc:
            raise BadRequest(422, str(exc)) from None
    if q.get("q"):
        if len(q["q"]) > 100:
            raise BadRequest(422, "`q` has at most 100 characters")
        out["text"] = q["q"].strip()
    escalated = params.boolean(q, "escalated")
    if escalated is not None:
        out["escalated"] = escalated
    return out


def review_of(events: list[dict]) -> dict | None:
    opened = next((e["event"] for e in events if e.get("type") == "TicketOpened"), None)
    if opened is None:
        return None
    r = {k: opened.get(k) for k in _REVIEW_FIELDS}
    r["phone"], r["comment"] = mask_phone(r["phone"]), mask_phones_in_text(r["comment"])
    return r


def state_from(events: list[dict], ticket_id: str) -> TicketState | None:
    """The ticket folded from its stored history, where the process serving the API does not hold
    it in a ticket table: a worker of other partitions, or the writer (`haocha sink`), which has none."""
    envs = [TicketEventEnvelope(event_id=e.get("event_id") or f"{ticket_id}:{e['version']}", type=e["type"],
                                ticket_id=ticket_id, version=e["version"], occurred_at=e["occurred_at"],
                                recorded_at=e.get("recorded_at") or e["occurred_at"], command_id=e.get("command_id", ""),
                                actor=Actor(id=e.get("actor_id") or "haocha", role=e.get("actor_role") or "system"),
                                event=e["event"])
            for e in events]
    return fold_all(envs) if envs else None


def days_left(now: datetime, due: datetime | None, calendar) -> float | None:
    if due is None:
        return None
    if due >= now:
        return round(working_days_between(now, due, calendar), 2)
    return -round(working_days_between(due, now, calendar), 2)


def with_timeline(events: list[dict]) -> list[dict]:
    """Each event also as the console reads it: `at` and `actor` beside the stored columns."""
    return [{**e, "at": e.get("occurred_at"), "actor": {"id": e.get("actor_id"), "role": e.get("actor_role")}}
            for e in events]


def extras(request: web.Request, actor: Actor, ticket: dict, events: list[dict], state: TicketState | None,
           at: datetime) -> dict:
    cx = request.app[CONSOLE]
    tid = ticket["ticket_id"]
    state = state or state_from(events, tid)
    cal = cx.decision.calendar
    contact = state.contact_due if state and state.contact_stage_active() else None
    resolve = state.resolve_due if state and state.resolve_stage_active() else None
    officers = [{"id": u.id, "name": u.name or u.id} for u in request.app[AUTH].users.all()
                if u.role == "officer" and not u.disabled and u.department_id == ticket["department_id"]]
    return {
        "review": review_of(events),
        "allowed": allowed_commands(state, actor, at, cx.decision) if state else [],
        "working_days_left": {"contact": days_left(at, contact, cal), "resolve": days_left(at, resolve, cal)},
        "evidence": [e.__dict__ for e in cx.evidence.list(tid)],
        "officers": officers,
    }
