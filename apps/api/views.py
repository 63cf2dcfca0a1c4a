"""What the API shows: tickets with their time left, events and outcomes, phone numbers masked.

The unmasked number leaves the API only through POST /tickets/{id}/phone, which records the view
as an event first; the ticket's worker puts it in that command's outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from haocha.domain.privacy import mask_phone, mask_phones_in_text
from haocha.domain.tickets import TicketState
from schemas.tickets import CommandOutcome
from sinks.clickhouse import masked_event, maybe_personal

_TIMES = ("contact_due", "resolve_due", "next_due", "opened_at", "happened_at")


def with_time_left(ticket: dict, at: datetime) -> dict:
    due = ticket.get("next_due")
    if isinstance(due, str):
        due = datetime.fromisoformat(due)
    ticket["time_left_seconds"] = None if due is None else int((due - at).total_seconds())
    ticket["overdue"] = due is not None and due < at
    return ticket


def state_view(s: TicketState) -> dict:
    """The worker's own table state, shaped like a row of the ClickHouse `tickets` table."""
    d = s.model_dump(mode="json", exclude={"recent_commands", "opened", "status_before_appeal"})
    o = s.opened
    d.update(review_id=o.review_id, hall_id=o.hall_id, window_id=o.window_id, department_id=o.department_id,
             rating=o.rating, real_name=o.real_name, happened_at=o.happened_at.isoformat())
    due = s.contact_due if s.contact_stage_active() else s.resolve_due if s.resolve_stage_active() else None
    d["next_due"] = due.isoformat() if due else None
    return d


def masked(payload: dict[str, Any]) -> dict[str, Any]:
    if payload.get("phone"):
        payload = {**payload, "phone": mask_phone(payload["phone"])}
    if payload.get("comment"):
        payload = {**payload, "comment": mask_phones_in_text(payload["comment"])}
    return payload


def event_row(raw: bytes, tz: ZoneInfo) -> dict:
    """A ticket event's envelope JSON as the store's `ticket_events` answers it (sinks/tickets_read.py):
    the same columns in the same order, its times in the store's zone at its precision (ms), what may
    be personal masked as the writer masks it."""
    env = orjson.loads(raw)
    if maybe_personal(raw):
        env = masked_event(env)
    return {"event_id": env["event_id"], "version": env["version"], "type": env["type"],
            "occurred_at": _stored_time(env["occurred_at"], tz), "recorded_at": _stored_time(env["recorded_at"], tz),
            "actor_id": env["actor"]["id"], "actor_role": env["actor"]["role"], "command_id": env["command_id"],
            "event": env["event"]}


def _stored_time(iso: str, tz: ZoneInfo) -> datetime:
    t = datetime.fromisoformat(iso).astimezone(tz)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def event_view(row: dict) -> dict:
    return {**row, "event": masked(row["event"])}


def outcome_view(outcome: CommandOutcome) -> dict:
    d = outcome.model_dump(mode="json", exclude={"phone"})  # shown by the phone route alone
    for env in d["events"]:
        env["event"] = masked(env["event"])
    if outcome.status not in ("accepted", "duplicate"):  # an error answer, shaped like every other
        d["code"] = outcome.reason.split(":", 1)[0] if outcome.status == "refused" else outcome.status
        d["error"] = outcome.reason or outcome.status
    return d


def http_status(outcome: CommandOutcome) -> int:
    if outcome.status == "refused":
        return 403 if outcome.reason.startswith("forbidden") else 422
    return {"accepted": 200, "duplicate": 200, "conflict": 409, "not_found": 404}[outcome.status]
