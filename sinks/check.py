"""`haocha check`: every read model in ClickHouse against a fold of the Kafka log.

The rule (docs/architecture.md, "Every read model is a fold of the log"): each table is derived
from the log alone, copies dropped by their ids, and converges after a crash at any point. This
reads the log from the start (the same reader as `haocha rebuild`) and compares, per key:

- tickets: the `tickets` table (newest version per ticket) = the fold of tickets.events
  (`haocha.domain.tickets.fold`): the same tickets, each at the same version and status;
- ticket_events: one row per event id in tickets.events;
- reviews: one row per review id in reviews.classified, counted as classified;
- dead_letters: one row per source message dead-lettered (sinks.clickhouse.dead_letter_key);
- alerts: one row per spike in the alerts topic.

The store is read before the log, so everything stored has a message already read: a row only in
the store is a real difference. A worker that has not caught up shows as rows missing from the
store; `lag` says so.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from haocha.domain.tickets import fold
from haocha.settings import Settings
from schemas import topics as t
from schemas.review import DeadLetter
from schemas.tickets import TicketEventEnvelope
from sinks.clickhouse import ClickHouseStore, dead_letter_key
from sinks.rebuild import read_topic

SHOWN = 20  # differences listed per read model (all are counted)

STORE_SQL = {
    "tickets": "SELECT ticket_id, argMax(version, version), argMax(status, version) FROM {db}.tickets GROUP BY ticket_id",
    "ticket_events": "SELECT event_id, count() FROM {db}.ticket_events GROUP BY event_id",
    "reviews": "SELECT review_id, count(), max(counted) FROM {db}.reviews GROUP BY review_id",
    "dead_letters": "SELECT source_key, count() FROM {db}.dead_letters GROUP BY source_key",
    "alerts": "SELECT alert_id, count() FROM {db}.alerts GROUP BY alert_id",
}


@dataclass
class ModelCheck:
    log: int = 0  # distinct keys in the log
    store: int = 0  # rows in the store
    differences: int = 0
    shown: list[str] = field(default_factory=list)

    def differ(self, line: str) -> None:
        self.differences += 1
        if len(self.shown) < SHOWN:
            self.shown.append(line)


def store_view(store: ClickHouseStore) -> dict[str, list[tuple]]:
    """Every read model's keys as stored (called on the store's thread)."""
    return {name: store.query(sql) for name, sql in STORE_SQL.items()}


async def _fold_tickets(settings: Settings) -> tuple[dict, set[str]]:
    tickets: dict[str, Any] = {}
    events: set[str] = set()
    async for msgs in read_topic(settings, t.TICKET_EVENTS.name):
        by_ticket: dict[str, list[TicketEventEnvelope]] = defaultdict(list)
        for m in msgs:
            env = TicketEventEnvelope.model_validate_json(m.value)
            events.add(env.event_id)
            by_ticket[env.ticket_id].append(env)
        for tid, envs in by_ticket.items():
            state = tickets.get(tid)
            for env in sorted(envs, key=lambda e: e.version):
                state = fold(state, env)  # copies (a version already folded) change nothing
            tickets[tid] = state
    return {tid: (s.version, s.status.value) for tid, s in tickets.items()}, events


async def _reviews(settings: Settings) -> dict[str, bool]:
    reviews: dict[str, bool] = {}
    async for msgs in read_topic(settings, t.REVIEWS_CLASSIFIED.name):
        for m in msgs:
            c = orjson.loads(m.value)
            reviews.setdefault(c["review"]["review_id"], bool(c["counted"]))  # copies: by review id
    return reviews


async def _dead_letters(settings: Settings) -> set[str]:
    letters: set[str] = set()
    async for msgs in read_topic(settings, t.DEAD_LETTERS.name):
        for m in msgs:
            try:
                letters.add(dead_letter_key(DeadLetter.model_validate_json(m.value), m.partition, m.offset))
            except ValueError:
                continue  # unreadable: the sink keeps it in Kafka only, so does the check
    return letters


async def _alerts(settings: Settings) -> set[str]:
    alerts: set[str] = set()
    async for msgs in read_topic(settings, t.ALERTS.name):
        for m in msgs:
            event = orjson.loads(m.value).get("event", {})
            if event.get("type") == "SpikeDetected":
                alerts.add(event["alert_id"])
    return alerts


async def log_view(settings: Settings) -> dict[str, Any]:
    """The same keys as the log says they must be (the topics read side by side)."""
    (tickets, events), reviews, letters, alerts = await asyncio.gather(
        _fold_tickets(settings), _reviews(settings), _dead_letters(settings), _alerts(settings))
    return {"tickets": tickets, "ticket_events": events, "reviews": reviews, "dead_letters": letters,
            "alerts": alerts}


def compare(log: dict[str, Any], stored: dict[str, list[tuple]]) -> dict[str, ModelCheck]:
    out: dict[str, ModelCheck] = {}
    for name, want in log.items():
        got = {row[0]: row[1:] for row in stored[name]}
        c = out[name] = ModelCheck(log=len(want), store=sum(r[0] if name != "tickets" else 1 for r in got.values()))
        for key in sorted(set(want) - set(got)):
            c.differ(f"{key}: in the log, not in the store")
        for key in sorted(set(got) - set(want)):
            c.differ(f"{key}: in the store, not in the log")
        for key in sorted(set(want) & set(got)):
            row = got[key]
            if name == "tickets":
                version, status = want[key]
                if tuple(row) != (version, status):
                    c.differ(f"{key}: the log folds to version {version} ({status}), "
                             f"the store has version {row[0]} ({row[1]})")
            elif row[0] != 1:
                c.differ(f"{key}: stored {row[0]} times")
            elif name == "reviews" and bool(row[1]) != want[key]:
                c.differ(f"{key}: counted {want[key]} in the log, {bool(row[1])} in the store")
    return out


async def check(settings: Settings, run_store: Callable[..., Awaitable[Any]], store: ClickHouseStore,
                lag: Callable[[], Awaitable[int]] | None = None) -> dict:
    """Compare; `run_store(fn, *args)` runs `fn` on the store's thread. The answer is JSON-ready:
    {"ok": bool, "lag": n | None, "models": {name: {log, store, differences, shown}}}."""
    stored = await run_store(store_view, store)
    # The log is read and folded on a thread of its own (with its own event loop): in the worker,
    # a month of messages parsed on the worker's loop would stall its agents and its health.
    log = await asyncio.to_thread(asyncio.run, log_view(settings))
    models = compare(log, stored)
    return {"ok": not any(c.differences for c in models.values()),
            "lag": await lag() if lag else None,
            "models": {name: vars(c) for name, c in models.items()}}


def report_lines(result: dict) -> list[str]:
    lines = []
    for name, c in result["models"].items():
        verdict = "equal" if not c["differences"] else f"{c['differences']:,} DIFFERENT"
        lines.append(f"{name:>14}: log {c['log']:,}  store {c['store']:,}  {verdict}")
        lines.extend(f"{'':>16}{line}" for line in c["shown"])
        if c["differences"] > len(c["shown"]):
            lines.append(f"{'':>16}... and {c['differences'] - len(c['shown']):,} more")
    if result.get("lag"):
        lines.append(f"the worker is {result['lag']:,} messages behind: rows missing from the store may only be late")
    return lines


def run_local(settings: Settings, store: ClickHouseStore) -> dict:
    """The check in this process (the store opened here: no worker holds it)."""
    async def run_store(fn, *args):
        return fn(*args)

    return asyncio.run(check(settings, run_store, store))
