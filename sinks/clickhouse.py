"""ClickHouse adapter: schema, replay-safe writes and queries, over clickhouse-connect.

The DSN picks the engine: `chdb://PATH` is ClickHouse embedded in this process (one process at a
time may open a PATH: the worker owns it while it runs), `http(s)://` a server or cluster. The SQL
is the same for both. SQL text names the database `{db}` and the time zone `{tz}` (times are stored
and bucketed in local time); the store puts its own in.

Writes are idempotent: a batch is staged and ClickHouse adds only the rows whose keys it does not
hold yet (sinks/staging.py). One writer per key (the sink's consumer group) makes that race-free,
so a batch replayed after a crash adds nothing, and materialized views fed by these tables never
count a row twice.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import clickhouse_connect
import orjson

from haocha.domain.privacy import mask_free_text, mask_phone, mask_phones_in_text
from haocha.settings import Settings
from schemas.review import DeadLetter, ReviewClassified
from schemas.tickets import TicketEventEnvelope
from sinks import rollups, staging
from sinks.staging import STAGE_FORMAT, STAGE_SETTINGS, Staged

log = logging.getLogger(__name__)
SCHEMA_FILES = sorted((Path(__file__).parent).glob("*.sql"))
ROLLUP_SCHEMA = Path(__file__).parent / "schema_rollups.sql"
DEFAULT_TIMEZONE = Settings.model_fields["timezone"].default

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
        self._staged: set[str] = set()  # tables whose staging table this session has
        self._embedded = urlparse(dsn).scheme == "chdb"

    @property
    def timezone(self) -> str:
        return self.tz.key

    def _bind(self, sql: str) -> str:
        return sql.replace("{db}", self.db).replace("{tz}", self.timezone)

    # -- schema -----------------------------------------------------------------------------
    def migrate(self) -> None:
        for path in SCHEMA_FILES:
            self._apply(path)

    def _apply(self, path: Path) -> None:
        for statement in _statements(self._bind(path.read_text(encoding="utf-8"))):
            self.command(statement)

    def rebuild_rollups(self) -> tuple[int, int]:
        """Recompute the rollups (and the views' per-ticket state) from the raw tables: emptied,
        the schema's backfills fill them as on a store whose views are new. Inserts meanwhile
        would be counted twice or not at all: the caller makes sure no writer inserts. Returns
        the reviews and ticket events they were rebuilt from."""
        for table in rollups.rollup_tables():
            self.command(f"TRUNCATE TABLE {self.db}.{table}")
        self._apply(ROLLUP_SCHEMA)
        reviews, events = self.query("SELECT (SELECT count() FROM {db}.reviews), "
                                     "(SELECT count() FROM {db}.ticket_events)")[0]
        return int(reviews), int(events)

    # -- the writer's batch in flight (schema.sql: writer_batches) ----------------------------
    def batch_started(self, writer: str) -> None:
        self._mark_batch(writer, pending=True)

    def batch_done(self, writer: str) -> None:
        self._mark_batch(writer, pending=False)

    def batch_unfinished(self, writer: str) -> bool:
        rows = self.query("SELECT pending FROM {db}.writer_batches WHERE writer = %(w)s", {"w": writer})
        return bool(rows and rows[0][0])

    def _mark_batch(self, writer: str, pending: bool) -> None:
        self.command(self._bind("INSERT INTO {db}.writer_batches (writer, pending, at) "
                                "SELECT %(w)s, %(p)s, now64(3)"), {"w": writer, "p": pending})

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

    def _ingest(self, staged: Staged, docs: Sequence[bytes]) -> int:
        """Stage the batch's JSON objects and store the rows the target lacks."""
        if not docs:
            return 0
        with self._lock:
            try:
                if staged.table not in self._staged:
                    self.client.command(self._bind(staged.create_sql(self.db)))
                    self._staged.add(staged.table)
                self.client.command(staged.truncate_sql(self.db))
                chunks = staging.body(docs)
                # The embedded engine's client writes the chunks to its input file one by one; a
                # server gets one request body (a retried request sends it again).
                self.client.raw_insert(staged.stage_table(self.db), None, chunks if self._embedded else b"".join(chunks),
                                       fmt=STAGE_FORMAT, settings=STAGE_SETTINGS)
                fresh = int(self.client.command(self._bind(staged.count_sql(self.db))))
                if fresh:
                    self.client.command(self._bind(staged.store_sql(self.db)))
                return fresh
            except Exception:
                self._staged.clear()  # a session lost with its temporary tables: made again on the retry
                raise

    # -- writes -----------------------------------------------------------------------------
    def write_reviews(self, items: Sequence[ReviewClassified | bytes]) -> int:
        """ReviewClassified models, or their JSON as reviews.classified holds it (the sink hands the
        topic's bytes over unparsed: the schema was validated upstream, ClickHouse maps them)."""
        return self._ingest(staging.REVIEWS, [_json_bytes(c) for c in items])

    def write_ticket_events(self, envs: Sequence[TicketEventEnvelope | bytes]) -> int:
        """Envelopes, or their JSON as tickets.events holds it."""
        return self._ingest(staging.TICKET_EVENTS, [_event_bytes(e) for e in envs])

    def write_ticket_states(self, states: Sequence[dict | bytes]) -> int:
        """Snapshots as the ticket agent folded them (TicketState JSON); newest version wins."""
        return self._ingest(staging.TICKETS, [s if isinstance(s, bytes) else orjson.dumps(s) for s in states])

    def write_alert_events(self, envs: Sequence) -> int:
        spikes = [e.event for e in envs if e.event.type == "SpikeDetected"]
        acks = [e.event for e in envs if e.event.type == "AlertAcknowledged"]
        n = self._ingest(staging.ALERTS, [orjson.dumps(a.model_dump(exclude={"type"})) for a in spikes])
        return n + self._ingest(staging.ALERT_ACKS, [orjson.dumps(a.model_dump(exclude={"type"})) for a in acks])

    def write_dead_letters(self, items: Sequence[tuple[DeadLetter, int, int]]) -> int:
        """One row per bad input, keyed by its source message (schema.sql: source_key)."""
        return self._ingest(staging.DEAD_LETTERS, [orjson.dumps(dead_letter_row(d, p, o)) for d, p, o in items])

    def close(self) -> None:
        with self._lock:
            try:
                self.client.close()
            except Exception:  # closing a dead connection must not hide the real error
                log.debug("closing the ClickHouse client failed", exc_info=True)


def _json_bytes(c: ReviewClassified | bytes) -> bytes:
    return c if isinstance(c, bytes) else c.model_dump_json().encode()


# Where a ticket event may hold something to mask: a phone field, a mobile number (each of its
# digits an ASCII digit or any non-ASCII character, which may be a digit), or a \u escape hiding
# either. Everything else is stored as the topic holds it.
_PHONE_FIELD = re.compile(rb'"phone"\s*:\s*"')
_MAYBE_MOBILE = re.compile(rb"1[3-9](?:[0-9]|[\x80-\xff]{2,4}){9}")


def maybe_personal(raw: bytes) -> bool:
    return (b"\\u" in raw or (b'"phone"' in raw and _PHONE_FIELD.search(raw) is not None)
            or _MAYBE_MOBILE.search(raw) is not None)


def masked_event(env: dict) -> dict:
    """An envelope's JSON with its event's free text and phone masked."""
    payload = mask_free_text(env["event"])
    if payload.get("phone"):
        payload["phone"] = mask_phone(payload["phone"])
    return {**env, "event": payload}


def _event_bytes(e: TicketEventEnvelope | bytes) -> bytes:
    raw = e if isinstance(e, bytes) else e.model_dump_json().encode()
    return orjson.dumps(masked_event(orjson.loads(raw))) if maybe_personal(raw) else raw


def dead_letter_key(d: DeadLetter, partition: int, offset: int) -> str:
    """schema.sql's `source_key` of a dead letter found at `partition`/`offset` of its topic."""
    if d.offset is None:
        return f"@{partition}:{offset}"
    return f"{d.source}@{d.partition}:{d.offset}"


def dead_letter_row(d: DeadLetter, partition: int, offset: int) -> dict:
    """Masked again here: a dead letter written before raw bytes were masked is not stored in clear."""
    return {"source": d.source, "reason": d.reason, "detail": mask_phones_in_text(d.detail),
            "raw": mask_phones_in_text(d.raw), "raw_encoding": d.raw_encoding, "sealed": d.sealed,
            "kafka_key": mask_phones_in_text(d.key), "kafka_partition": d.partition, "kafka_offset": d.offset,
            "failed_at": d.failed_at, "dl_partition": partition, "dl_offset": offset,
            "source_key": dead_letter_key(d, partition, offset)}


def _statements(sql: str) -> Iterable[str]:
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    for stmt in "\n".join(lines).split(";"):
        if stmt.strip():
            yield stmt.strip()


