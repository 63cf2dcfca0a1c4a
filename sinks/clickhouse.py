"""ClickHouse adapter: schema, replay-safe writes and queries, over clickhouse-connect.

The DSN picks the engine: `chdb://PATH` is ClickHouse embedded in this process (one process at a
time may open a PATH: the worker owns it while it runs), `http(s)://` a server or cluster. The SQL
is the same for both. SQL text names the database `{db}` and the time zone `{tz}` (times are stored
and bucketed in local time); the store puts its own in.

Writes are idempotent: each batch first asks which of its keys are already stored and inserts only
the rest. One writer per table (the worker's sink) makes that race-free, so a batch replayed after
a crash adds nothing, and materialized views fed by these tables never count a row twice.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import clickhouse_connect

from haocha.domain.privacy import mask_free_text, mask_phone, mask_phones_in_text
from haocha.settings import Settings
from schemas.review import RATING_SCORES, DeadLetter, ReviewClassified
from schemas.tickets import TicketEventEnvelope

log = logging.getLogger(__name__)
SCHEMA_FILES = sorted((Path(__file__).parent).glob("*.sql"))
DEFAULT_TIMEZONE = Settings.model_fields["timezone"].default

REVIEW_COLUMNS = [
    "review_id", "case_no", "channel", "hall_id", "window_id", "department_id", "staff_id", "item_code",
    "item_name", "rating", "score", "reasons", "comment", "real_name", "phone_masked", "happened_at",
    "received_at", "classified_at", "terminal_id", "follow_up_of", "classification", "counted",
    "ticket_id", "note",
]
EVENT_COLUMNS = [
    "event_id", "ticket_id", "version", "type", "occurred_at", "recorded_at", "actor_id", "actor_role",
    "command_id", "payload",
]
TICKET_COLUMNS = [
    "ticket_id", "version", "status", "review_id", "hall_id", "window_id", "department_id", "rating", "real_name",
    "happened_at", "opened_at", "contact_due", "resolve_due", "officer_id", "contact_attempts", "contacted_at",
    "verdict", "rectified_at", "feedback_at", "explained_at", "closed_at", "resolution", "appeal",
    "invalidated_reason", "reopen_count", "warned", "escalated",
]
ALERT_COLUMNS = ["alert_id", "hall_id", "window_id", "department_id", "window_start", "window_end", "reviews", "bad",
                 "detected_at"]
ACK_COLUMNS = ["alert_id", "window_id", "by", "note", "acknowledged_at"]
DEAD_LETTER_COLUMNS = [
    "source", "reason", "detail", "raw", "raw_encoding", "sealed", "kafka_key", "kafka_partition", "kafka_offset",
    "failed_at", "dl_partition", "dl_offset",
]
# Keys per "which are stored already" query: the keys are bound into the SQL text, and ClickHouse
# refuses a query over max_query_size (256 KiB) — 4,000 UUID-sized keys stay well below it.
KEY_LOOKUP_CHUNK = 4_000


class StoreLockedError(RuntimeError):
    pass


def connect(dsn: str, database: str = "haocha"):
    """A clickhouse-connect client for the DSN; a clear error when an embedded store is taken."""
    parsed = urlparse(dsn)
    try:
        if parsed.scheme == "chdb":
            Path(parsed.path).mkdir(parents=True, exist_ok=True)
            return clickhouse_connect.get_client(dsn=dsn)
        return clickhouse_connect.get_client(dsn=dsn, database=database if not parsed.path.strip("/") else None)
    except Exception as exc:  # chdb refuses a second process on the same path
        if parsed.scheme == "chdb" and "lock" in str(exc).lower():
            raise StoreLockedError(
                f"the embedded store {parsed.path} is open in another process (a running worker?). "
                "Ask the worker's API instead, or stop the worker first."
            ) from exc
        raise


class ClickHouseStore:
    """All of Haocha's ClickHouse I/O. Calls are serialised: the embedded engine wants one caller."""

    def __init__(self, dsn: str, database: str = "haocha", timezone: str = DEFAULT_TIMEZONE):
        self.dsn = dsn
        self.db = database
        self.tz = ZoneInfo(timezone)  # an unknown zone fails here, not inside a query
        self.client = connect(dsn, database)
        self._lock = threading.Lock()

    @property
    def timezone(self) -> str:
        return self.tz.key

    def _bind(self, sql: str) -> str:
        return sql.replace("{db}", self.db).replace("{tz}", self.timezone)

    # -- schema -----------------------------------------------------------------------------
    def migrate(self) -> None:
        for path in SCHEMA_FILES:
            for statement in _statements(self._bind(path.read_text(encoding="utf-8"))):
                self.command(statement)

    # -- plumbing ---------------------------------------------------------------------------
    def command(self, sql: str, parameters: dict | None = None) -> Any:
        with self._lock:
            return self.client.command(sql, parameters=parameters)

    def query(self, sql: str, parameters: dict | None = None) -> list[tuple]:
        with self._lock:
            return self.client.query(self._bind(sql), parameters=parameters).result_rows

    def query_dicts(self, sql: str, parameters: dict | None = None) -> list[dict]:
        with self._lock:
            res = self.client.query(self._bind(sql), parameters=parameters)
            return [dict(zip(res.column_names, row)) for row in res.result_rows]

    def _insert_new(self, table: str, columns: list[str], rows: list[list], key_sql: str, keys: list) -> int:
        if not rows:
            return 0
        with self._lock:
            unique = list(set(keys))
            present = {
                r[0]
                for i in range(0, len(unique), KEY_LOOKUP_CHUNK)
                for r in self.client.query(
                    f"SELECT {key_sql} FROM {self.db}.{table} WHERE {key_sql} IN %(keys)s",
                    parameters={"keys": unique[i:i + KEY_LOOKUP_CHUNK]},
                ).result_rows
            }
            fresh, seen = [], set(present)
            for k, row in zip(keys, rows):
                if k not in seen:  # also drops duplicates inside the batch
                    seen.add(k)
                    fresh.append(row)
            if fresh:  # column-oriented: clickhouse-connect serialises a column ~5x faster than rows
                self.client.insert(f"{self.db}.{table}", [list(col) for col in zip(*fresh)], column_names=columns,
                                   column_oriented=True)
            return len(fresh)

    # -- writes -----------------------------------------------------------------------------
    def write_reviews(self, items: Sequence[ReviewClassified | dict]) -> int:
        """ReviewClassified models, or their JSON as dicts (`orjson.loads` of the topic's bytes: the
        worker's sink skips the pydantic parse, the schema was validated upstream)."""
        rows, keys = [], []
        for c in items:
            if isinstance(c, dict):
                rows.append(review_row_from_dict(c))
                keys.append(c["review"]["review_id"])
            else:
                rows.append(review_row(c))
                keys.append(c.review.review_id)
        return self._insert_new("reviews", REVIEW_COLUMNS, rows, "review_id", keys)

    def write_ticket_events(self, envs: Sequence[TicketEventEnvelope]) -> int:
        rows = [event_row(e) for e in envs]
        return self._insert_new("ticket_events", EVENT_COLUMNS, rows, "event_id", [e.event_id for e in envs])

    def write_ticket_states(self, states: Sequence[dict]) -> int:
        """Snapshots as the ticket agent folded them (TicketState JSON); newest version wins."""
        rows = [ticket_row(st) for st in states]
        keys = [f"{st['ticket_id']}:{st['version']}" for st in states]
        return self._insert_new("tickets", TICKET_COLUMNS, rows,
                                "concat(ticket_id, ':', toString(version))", keys)

    def write_alert_events(self, envs: Sequence) -> int:
        spikes = [e.event for e in envs if e.event.type == "SpikeDetected"]
        acks = [e.event for e in envs if e.event.type == "AlertAcknowledged"]
        n = self._insert_new(
            "alerts", ALERT_COLUMNS,
            [[a.alert_id, a.hall_id, a.window_id, a.department_id, a.window_start, a.window_end, a.reviews, a.bad,
              a.detected_at] for a in spikes], "alert_id", [a.alert_id for a in spikes])
        n += self._insert_new(
            "alert_acks", ACK_COLUMNS,
            [[a.alert_id, a.window_id, a.by, a.note, a.acknowledged_at] for a in acks],
            "concat(alert_id, '|', toString(toUnixTimestamp64Milli(acknowledged_at)))",
            [f"{a.alert_id}|{int(a.acknowledged_at.timestamp() * 1000)}" for a in acks])
        return n

    def write_dead_letters(self, items: Sequence[tuple[DeadLetter, int, int]]) -> int:
        """One row per bad input, keyed by its source message (schema.sql: source_key)."""
        rows = [dead_letter_row(d, p, o) for d, p, o in items]
        keys = [dead_letter_key(d, p, o) for d, p, o in items]
        return self._insert_new("dead_letters", DEAD_LETTER_COLUMNS, rows, "source_key", keys)

    def close(self) -> None:
        with self._lock:
            try:
                self.client.close()
            except Exception:  # closing a dead connection must not hide the real error
                log.debug("closing the ClickHouse client failed", exc_info=True)


def review_row(c: ReviewClassified) -> list:
    r = c.review
    return [
        r.review_id, r.case_no, r.channel.value, r.hall_id, r.window_id, c.department_id, r.staff_id,
        r.item_code, mask_phones_in_text(r.item_name), r.rating, RATING_SCORES[r.rating], list(r.reasons),
        mask_phones_in_text(r.comment),
        r.is_real_name, mask_phone(r.evaluator.phone), r.happened_at, r.received_at or c.classified_at,
        c.classified_at, r.terminal_id, r.follow_up_of, c.classification.value, c.counted, c.ticket_id, c.note,
    ]


def _ts(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def review_row_from_dict(c: dict) -> list:
    """`review_row` of the JSON of a ReviewClassified (as pydantic dumps it), without the model."""
    r = c["review"]
    ev = r.get("evaluator") or {}
    phone = ev.get("phone")
    classified_at = _ts(c["classified_at"])
    rating = r["rating"]
    return [
        r["review_id"], r.get("case_no"), r["channel"], r["hall_id"], r["window_id"], c["department_id"],
        r.get("staff_id"), r.get("item_code"), mask_phones_in_text(r.get("item_name")), rating, RATING_SCORES[rating],
        list(r.get("reasons") or ()), mask_phones_in_text(r.get("comment")), bool(ev.get("real_name")) or phone is not None,
        mask_phone(phone), _ts(r["happened_at"]), _ts(r.get("received_at")) or classified_at, classified_at,
        r["terminal_id"], r.get("follow_up_of"), c["classification"], c["counted"], c.get("ticket_id"),
        c.get("note", ""),
    ]


def event_row(e: TicketEventEnvelope) -> list:
    payload = mask_free_text(e.event.model_dump(mode="json"))
    if payload.get("phone"):
        payload["phone"] = mask_phone(payload["phone"])
    return [
        e.event_id, e.ticket_id, e.version, e.type, e.occurred_at, e.recorded_at, e.actor.id, e.actor.role,
        e.command_id, json.dumps(payload, ensure_ascii=False),
    ]


def ticket_row(st: dict) -> list:
    o = st["opened"]
    ts = lambda v: datetime.fromisoformat(v) if v else None  # noqa: E731
    return [
        st["ticket_id"], st["version"], st["status"], o["review_id"], o["hall_id"], o["window_id"],
        o["department_id"], o["rating"], o["real_name"], ts(o["happened_at"]), ts(st["opened_at"]),
        ts(st["contact_due"]), ts(st["resolve_due"]), st.get("officer_id"), st.get("contact_attempts", 0),
        ts(st.get("contacted_at")), st.get("verdict"), ts(st.get("rectified_at")), ts(st.get("feedback_at")),
        ts(st.get("explained_at")), ts(st.get("closed_at")), st.get("resolution"), st.get("appeal"),
        mask_phones_in_text(st.get("invalidated_reason")), st.get("reopen_count", 0), list(st.get("warned", ())),
        list(st.get("escalated", ())),
    ]


def dead_letter_key(d: DeadLetter, partition: int, offset: int) -> str:
    """schema.sql's `source_key` of a dead letter found at `partition`/`offset` of its topic."""
    if d.offset is None:
        return f"@{partition}:{offset}"
    return f"{d.source}@{d.partition}:{d.offset}"


def dead_letter_row(d: DeadLetter, partition: int, offset: int) -> list:
    """Masked again here: a dead letter written before raw bytes were masked is not stored in clear."""
    return [d.source, d.reason, mask_phones_in_text(d.detail), mask_phones_in_text(d.raw), d.raw_encoding, d.sealed,
            mask_phones_in_text(d.key), d.partition, d.offset, d.failed_at, partition, offset]


def _statements(sql: str) -> Iterable[str]:
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    for stmt in "\n".join(lines).split(";"):
        if stmt.strip():
            yield stmt.strip()


