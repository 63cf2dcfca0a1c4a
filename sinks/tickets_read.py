"""The ticket queue and history as ClickHouse has them (the API's read side; calls are synchronous,
run them on the store's thread).

ClickHouse lags the log by about one sink batch (~1 s).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

# The earliest deadline still running: the contact deadline while a real-name evaluator has not
# been reached, then the rectification deadline until feedback or an explanation. Same rule as
# TicketState.contact_stage_active / resolve_stage_active in the domain.
_QUEUE = """
SELECT * FROM (
    SELECT *,
        status NOT IN ('closed', 'invalidated') AS is_open,
        is_open AND real_name AND contacted_at IS NULL AS contact_active,
        is_open AND feedback_at IS NULL AND explained_at IS NULL AS resolve_active,
        multiIf(contact_active, contact_due, resolve_active, resolve_due, NULL) AS next_due
    FROM {db}.tickets FINAL
)
"""
_HIDDEN = ("is_open", "contact_active", "resolve_active")
_REASONS = "JSONExtract(payload, 'reasons', 'Array(String)')"


@dataclass(frozen=True)
class TicketFilter:
    department: str | None = None
    window: str | None = None
    state: str | None = None
    overdue: bool | None = None
    at: datetime | None = None  # "overdue" as of this time
    limit: int = 500
    offset: int = 0
    happened_from: datetime | None = None  # the review's time in [from, to): a month of the console
    happened_to: datetime | None = None
    text: str | None = None  # part of a reason (case-insensitive)
    escalated: bool | None = None  # some deadline passed unmet (true) or none (false)


def list_tickets(store, f: TicketFilter) -> tuple[list[dict], int]:
    """One page of the queue, soonest running deadline first, and how many match in all."""
    where, params = _where(f)
    sql = f"{_QUEUE} {where} ORDER BY next_due IS NULL, next_due, ticket_id LIMIT %(limit)s OFFSET %(offset)s"
    rows = [_clean(r) for r in store.query_dicts(sql, {**params, "limit": f.limit, "offset": f.offset})]
    total = store.query(f"SELECT count() FROM ({_QUEUE} {where})", params)
    if rows:  # the reasons are the ticket's own, in its TicketOpened; one look-up for the page
        reasons = dict(store.query(f"SELECT ticket_id, any({_REASONS}) FROM {{db}}.ticket_events WHERE ticket_id IN "
                                   "%(ids)s AND type = 'TicketOpened' GROUP BY ticket_id",
                                   {"ids": [r["ticket_id"] for r in rows]}))
        for r in rows:
            r["reasons"] = list(reasons.get(r["ticket_id"], ()))
    return rows, int(total[0][0])


def count_by_status(store, f: TicketFilter) -> dict[str, int]:
    """How many tickets match the filter in each state (the state filter itself left out)."""
    where, params = _where(replace(f, state=None))
    return {s: int(n) for s, n in store.query(f"SELECT status, count() FROM ({_QUEUE} {where}) GROUP BY status",
                                              params)}


def get_ticket(store, ticket_id: str) -> dict | None:
    rows = store.query_dicts(f"{_QUEUE} WHERE ticket_id = %(tid)s", {"tid": ticket_id})
    return _clean(rows[0]) if rows else None


def ticket_events(store, ticket_id: str) -> list[dict]:
    rows = store.query_dicts("SELECT event_id, version, type, occurred_at, recorded_at, actor_id, actor_role, "
                             "command_id, payload FROM {db}.ticket_events FINAL WHERE ticket_id = %(tid)s "
                             "ORDER BY version", {"tid": ticket_id})
    for r in rows:
        r["event"] = json.loads(r.pop("payload"))
    return rows


def _where(f: TicketFilter) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    for column, value in (("department_id", f.department), ("window_id", f.window), ("status", f.state)):
        if value:
            clauses.append(f"{column} = %({column})s")
            params[column] = value
    if f.overdue is not None:
        params["at_ms"] = int(f.at.timestamp() * 1000) if f.at else 0
        cond = "(next_due IS NOT NULL AND toUnixTimestamp64Milli(next_due) < %(at_ms)s)"
        clauses.append(cond if f.overdue else f"NOT {cond}")
    if f.happened_from is not None and f.happened_to is not None:
        params["from_ms"], params["to_ms"] = int(f.happened_from.timestamp() * 1000), int(f.happened_to.timestamp() * 1000)
        clauses.append("toUnixTimestamp64Milli(happened_at) >= %(from_ms)s AND toUnixTimestamp64Milli(happened_at) < %(to_ms)s")
    if f.text:
        params["text"] = f.text
        clauses.append(f"ticket_id IN (SELECT ticket_id FROM {{db}}.ticket_events WHERE type = 'TicketOpened' AND "
                       f"arrayExists(r -> positionCaseInsensitiveUTF8(r, %(text)s) > 0, {_REASONS}))")
    if f.escalated is not None:
        clauses.append("notEmpty(escalated)" if f.escalated else "empty(escalated)")
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _clean(row: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in row.items() if k not in _HIDDEN}
