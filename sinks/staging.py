"""Replay-safe batch writes, done by ClickHouse: a batch goes into a staging table as one JSON
object, and one INSERT ... SELECT adds to the target only the rows whose keys it does not hold yet.

The batch is its documents keyed by their place in it (JSONObjectEachRow: `{"0": doc, "1": doc}`,
`body`), which ClickHouse reads into `_n`: of the copies of one key inside a batch the first is
stored, as of copies across batches the one stored first stays. Joining the documents under
ready-made keys leaves Python no per-document work. The staging tables are
temporary (one per table and session: per writer process, and per HTTP session with a server), so
writers sharing a server never see each other's batches. The materialized views hang on the
targets only: each fires once per row stored, and a replayed batch, which stores nothing, feeds
them nothing.

The topics' own JSON (reviews, ticket events and states) is parsed and mapped by ClickHouse,
masking included (sinks/mask_sql.py; a ticket event that may hold personal data is masked in
Python first); the low-volume tables' lines are built in Python (sinks/clickhouse.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from schemas.review import RATING_SCORES
from sinks.mask_sql import mask_phone, mask_phones_in_text

TS = "DateTime64(3, '{tz}')"
NTS = f"Nullable({TS})"
STAGE_FORMAT = "JSONObjectEachRow"
# How ClickHouse reads a batch: each document's key into `_n`, times with their zone as the
# producers write them (a time without one is the store's local time), and fields the stage has no
# column for ignored. An object where the stage has a String column is read as its JSON text.
STAGE_SETTINGS = {"format_json_object_each_row_column_for_object_name": "_n", "date_time_input_format": "best_effort",
                  "input_format_skip_unknown_fields": 1, "input_format_json_read_objects_as_strings": 1}
# The store's insert: the target's materialized views run side by side (each view's insert is
# mostly a fixed cost, the new part's files, and the reviews have four). No replacing merge of the
# inserted block (optimize_on_insert): the rows picked hold each key once already (LIMIT 1 BY), and
# where the sort key is coarser than the row's key (a ticket's snapshots, one per version), every
# snapshot is stored, as the key check expects, and reads take the newest (FINAL, argMax). The merge
# on insert cost ~10 ms of an insert of 10,000 reviews (~65 ms; bench/bench_ingest.py).
STORE_SETTINGS = "SETTINGS parallel_view_processing = 1, optimize_on_insert = 0"

# The keys `{"0":`, `,"1":`, ... made once. A tuple replaced whole when a longer batch comes, never
# grown in place: the rebuild stages several topics' batches on threads at once, and two threads
# extending one list could interleave their keys.
_keys: tuple[bytes, ...] = ()


def _keys_for(n: int) -> tuple[bytes, ...]:
    global _keys
    keys = _keys
    if len(keys) < n:
        keys = tuple(b'%s"%d":' % (b"," if i else b"{", i) for i in range(max(n, 2 * len(keys), 1024)))
        _keys = keys
    return keys


# Documents per chunk of a body: a chunk stays in the CPU's cache, where one bytes object of the
# whole batch (~23 MB for 50,000 reviews) costs its page faults twice, once built, once written.
CHUNK_DOCS = 256


def body(docs: Sequence[bytes]) -> list[bytes]:
    """A batch of JSON objects as the stage reads it, each under its place in the batch, in chunks
    (their concatenation is the document)."""
    keys = _keys_for(len(docs))
    chunks = []
    for i in range(0, len(docs), CHUNK_DOCS):
        part = docs[i:i + CHUNK_DOCS]
        pieces: list[bytes] = [b""] * (2 * len(part))
        pieces[0::2], pieces[1::2] = keys[i:i + len(part)], part
        chunks.append(b"".join(pieces))
    chunks.append(b"}")
    return chunks


@dataclass(frozen=True)
class Staged:
    table: str
    columns: tuple[str, ...]  # the target's columns written
    stage: str  # the staging table's columns: what a line holds
    select: str  # `columns` from the stage's, in that order
    key: str  # the row's key: an expression valid over the target and the stage alike
    narrow: str = ""  # a column in both, led by the target's sort key: the lookup reads only its granules

    def stage_table(self, db: str) -> str:
        return f"_stage_{db}_{self.table}"

    def create_sql(self, db: str) -> str:
        return f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.stage_table(db)} (_n String, {self.stage}) ENGINE = Memory"

    def truncate_sql(self, db: str) -> str:
        return f"TRUNCATE TABLE {self.stage_table(db)}"

    def _fresh(self, db: str) -> str:
        """The stage's rows whose keys the target lacks."""
        stage = self.stage_table(db)
        lookup = f"{self.key} IN (SELECT {self.key} FROM {stage})"
        if self.narrow:
            lookup = f"{self.narrow} IN (SELECT {self.narrow} FROM {stage}) AND {lookup}"
        return f"FROM {stage} WHERE {self.key} NOT IN (SELECT {self.key} FROM {db}.{self.table} WHERE {lookup})"

    def count_sql(self, db: str) -> str:
        """How many keys the store will add (asked first: an insert reports no count on chdb)."""
        return f"SELECT uniqExact({self.key}) {self._fresh(db)}"

    def store_sql(self, db: str) -> str:
        """Store the first copy of each new key."""
        return (f"INSERT INTO {db}.{self.table} ({', '.join(self.columns)}) {STORE_SETTINGS} "
                f"SELECT {self.select} {self._fresh(db)} ORDER BY toUInt32(_n) LIMIT 1 BY {self.key}")


def _same(columns: str) -> tuple[tuple[str, ...], str]:
    cols = tuple(c.strip() for c in columns.split(","))
    return cols, ", ".join(cols)


_REVIEW = (
    "Tuple(review_id String, case_no Nullable(String), channel String, hall_id String, window_id String, "
    "staff_id Nullable(String), item_code Nullable(String), item_name Nullable(String), rating UInt8, "
    "reasons Array(String), comment Nullable(String), evaluator Tuple(real_name Bool, phone Nullable(String)), "
    f"happened_at {TS}, received_at {NTS}, terminal_id String, follow_up_of Nullable(String))"
)
_SCORES = (f"transform(review.rating, [{', '.join(map(str, RATING_SCORES))}], "
           f"[{', '.join(map(str, RATING_SCORES.values()))}], 0)")

# A ReviewClassified's JSON, as the review hop writes it to reviews.classified.
REVIEWS = Staged(
    table="reviews",
    columns=("review_id", "case_no", "channel", "hall_id", "window_id", "department_id", "staff_id", "item_code",
             "item_name", "rating", "score", "reasons", "comment", "real_name", "phone_masked", "happened_at",
             "received_at", "classified_at", "terminal_id", "follow_up_of", "classification", "counted",
             "ticket_id", "note"),
    stage=(f"review {_REVIEW}, department_id String, classified_at {TS}, classification String, counted Bool, "
           "ticket_id Nullable(String), note String, review_id String ALIAS review.review_id"),
    select=("review_id, review.case_no, review.channel, review.hall_id, review.window_id, department_id, "
            f"review.staff_id, review.item_code, {mask_phones_in_text('review.item_name')}, review.rating, "
            f"{_SCORES}, review.reasons, {mask_phones_in_text('review.comment')}, "
            "review.evaluator.real_name OR review.evaluator.phone IS NOT NULL, "
            f"{mask_phone('review.evaluator.phone', '_phone')}, review.happened_at, "
            "ifNull(review.received_at, classified_at), classified_at, review.terminal_id, review.follow_up_of, "
            "classification, counted, ticket_id, note"),
    key="review_id",
)

# A TicketState's JSON, as the ticket agent writes it to tickets.state (one snapshot per version).
_TICKET_TOP = ("ticket_id String, version UInt32, status String, "
               "opened Tuple(review_id String, hall_id String, window_id String, department_id String, rating UInt8, "
               f"real_name Bool, happened_at {TS}), opened_at {TS}, contact_due {TS}, resolve_due {TS}, "
               f"officer_id Nullable(String), contact_attempts UInt16, contacted_at {NTS}, verdict Nullable(String), "
               f"rectified_at {NTS}, feedback_at {NTS}, explained_at {NTS}, closed_at {NTS}, "
               "resolution Nullable(String), appeal Nullable(String), invalidated_reason Nullable(String), "
               "reopen_count UInt8, warned Array(String), escalated Array(String)")
TICKETS = Staged(
    table="tickets",
    columns=("ticket_id", "version", "status", "review_id", "hall_id", "window_id", "department_id", "rating",
             "real_name", "happened_at", "opened_at", "contact_due", "resolve_due", "officer_id", "contact_attempts",
             "contacted_at", "verdict", "rectified_at", "feedback_at", "explained_at", "closed_at", "resolution",
             "appeal", "invalidated_reason", "reopen_count", "warned", "escalated"),
    stage=_TICKET_TOP,
    select=("ticket_id, version, status, opened.review_id, opened.hall_id, opened.window_id, opened.department_id, "
            "opened.rating, opened.real_name, opened.happened_at, opened_at, contact_due, resolve_due, officer_id, "
            "contact_attempts, contacted_at, verdict, rectified_at, feedback_at, explained_at, closed_at, "
            f"resolution, appeal, {mask_phones_in_text('invalidated_reason')}, reopen_count, warned, escalated"),
    key="concat(ticket_id, ':', toString(version))",
    narrow="ticket_id",
)

# A TicketEventEnvelope's JSON, as the ticket agent writes it to tickets.events; `event` is read as
# its JSON text, the payload column. Events that may hold personal data come masked (sinks/clickhouse.py).
TICKET_EVENTS = Staged(
    table="ticket_events",
    columns=("event_id", "ticket_id", "version", "type", "occurred_at", "recorded_at", "actor_id", "actor_role",
             "command_id", "payload"),
    stage=(f"event_id String, ticket_id String, version UInt32, type String, occurred_at {TS}, recorded_at {TS}, "
           "actor Tuple(id String, role String), command_id String, event String"),
    select=("event_id, ticket_id, version, type, occurred_at, recorded_at, actor.id, actor.role, command_id, event"),
    key="event_id",
    narrow="ticket_id",  # an event id is its ticket's id and version
)

# Lines built in Python (sinks/clickhouse.py), one column per target column.
_ALERT_COLS, _ALERT_SELECT = _same("alert_id, hall_id, window_id, department_id, window_start, window_end, reviews, "
                                   "bad, detected_at")
ALERTS = Staged(
    table="alerts", columns=_ALERT_COLS, select=_ALERT_SELECT,
    stage=(f"alert_id String, hall_id String, window_id String, department_id String, window_start {TS}, "
           f"window_end {TS}, reviews UInt32, bad UInt32, detected_at {TS}"),
    key="alert_id",
)

_ACK_COLS, _ACK_SELECT = _same("alert_id, window_id, by, note, acknowledged_at")
ALERT_ACKS = Staged(
    table="alert_acks", columns=_ACK_COLS, select=_ACK_SELECT,
    stage=f"alert_id String, window_id String, by String, note String, acknowledged_at {TS}",
    key="concat(alert_id, '|', toString(toUnixTimestamp64Milli(acknowledged_at)))",
    narrow="alert_id",
)

# source_key: the target computes it (schema.sql); the stage gets it from Python, the same value.
_DL_COLS, _DL_SELECT = _same("source, reason, detail, raw, raw_encoding, sealed, kafka_key, kafka_partition, "
                             "kafka_offset, failed_at, dl_partition, dl_offset")
DEAD_LETTERS = Staged(
    table="dead_letters", columns=_DL_COLS, select=_DL_SELECT,
    stage=("source String, reason String, detail String, raw String, raw_encoding String, sealed Nullable(String), "
           "kafka_key Nullable(String), kafka_partition Nullable(Int32), kafka_offset Nullable(Int64), "
           f"failed_at {TS}, dl_partition Int32, dl_offset Int64, source_key String"),
    key="source_key",
)
