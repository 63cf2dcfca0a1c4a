"""Idempotency records: review id -> the outcome the gateway first answered.

A small SQLite file in the gateway's data dir (WAL, so several gateway processes on one host may
share it). It is written only after Kafka acknowledged the review: a crash in between means the
resend is produced again, which the stream recognises as a resend of the same id and content and
never counts twice. Gateways on different hosts have separate files: route each terminal to one
gateway (docs/gateway.md) to get exact resend answers everywhere; counting stays exact regardless.

It also remembers case numbers and presses, so the gateway can say "this looks like a second
review of the case / a repeat press" at once (a hint); the stream's verdict, learnt from the
classified topic, is the answer.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reviews (
    review_id TEXT PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    fp TEXT NOT NULL,
    status INTEGER NOT NULL,
    response BLOB NOT NULL,
    case_no TEXT,              -- only first reviews (not 追评) take part in 一次一评
    happened_ts REAL NOT NULL,
    no_case INTEGER NOT NULL,  -- a press without case number: subject to the repeat-press rule
    accepted_at REAL NOT NULL,
    classification TEXT,
    class_note TEXT
);
CREATE INDEX IF NOT EXISTS reviews_case ON reviews(case_no) WHERE case_no IS NOT NULL;
CREATE INDEX IF NOT EXISTS reviews_press ON reviews(terminal_id, happened_ts) WHERE no_case = 1;
CREATE INDEX IF NOT EXISTS reviews_age ON reviews(accepted_at);
CREATE TABLE IF NOT EXISTS tail_offsets (topic TEXT, part INTEGER, next_offset INTEGER, PRIMARY KEY (topic, part));
"""


@dataclass(frozen=True)
class Outcome:
    review_id: str
    terminal_id: str
    fp: str
    status: int
    response: dict
    case_no: str | None
    happened_ts: float
    no_case: bool
    classification: str | None = None
    class_note: str | None = None


class IdempotencyStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    _COLUMNS = ("review_id, terminal_id, fp, status, response, case_no, happened_ts, no_case, classification,"
                " class_note")

    def get(self, review_id: str) -> Outcome | None:
        return self.get_many([review_id]).get(review_id)

    def get_many(self, review_ids: list[str]) -> dict[str, Outcome]:
        """One query per batch (a batch of 500 is one round trip, not 500)."""
        out: dict[str, Outcome] = {}
        ids = list(dict.fromkeys(review_ids))
        for i in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            chunk = ids[i:i + 500]
            rows = self._db.execute(f"SELECT {self._COLUMNS} FROM reviews WHERE review_id IN "
                                    f"({','.join('?' * len(chunk))})", chunk).fetchall()
            for r in rows:
                out[r[0]] = Outcome(r[0], r[1], r[2], r[3], orjson.loads(r[4]), r[5], r[6], bool(r[7]), r[8], r[9])
        return out

    def put_many(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        now = time.time()
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO reviews (review_id, terminal_id, fp, status, response, case_no, happened_ts,"
                " no_case, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(o.review_id, o.terminal_id, o.fp, o.status, orjson.dumps(o.response), o.case_no, o.happened_ts,
                  int(o.no_case), now) for o in outcomes],
            )

    def case_owners(self, case_nos: list[str]) -> dict[str, str]:
        """case number -> the review that first rated it, for those already rated."""
        out: dict[str, str] = {}
        cases = list(dict.fromkeys(case_nos))
        for i in range(0, len(cases), 500):
            chunk = cases[i:i + 500]
            rows = self._db.execute(f"SELECT case_no, review_id FROM reviews WHERE case_no IN "
                                    f"({','.join('?' * len(chunk))}) ORDER BY accepted_at DESC", chunk).fetchall()
            out.update(rows)  # oldest last, so it wins
        return out

    def earlier_press(self, terminal_id: str, happened_ts: float, window: float, other_than: str) -> str | None:
        row = self._db.execute(
            "SELECT review_id FROM reviews WHERE terminal_id = ? AND no_case = 1 AND happened_ts BETWEEN ? AND ?"
            " AND review_id != ? ORDER BY happened_ts DESC LIMIT 1",
            (terminal_id, happened_ts - window, happened_ts, other_than)).fetchone()
        return row[0] if row else None

    def set_classifications(self, verdicts: list[tuple[str, str, str]]) -> int:
        """(review_id, classification, note) from the stream; ids this gateway never saw are ignored."""
        if not verdicts:
            return 0
        with self._db:
            self._db.execute("BEGIN")
            cur = self._db.executemany(
                "UPDATE reviews SET classification = ?, class_note = ? WHERE review_id = ?",
                [(c, n, rid) for rid, c, n in verdicts])
        return cur.rowcount

    def purge(self, older_than_seconds: float) -> int:
        with self._db:
            self._db.execute("BEGIN")
            cur = self._db.execute("DELETE FROM reviews WHERE accepted_at < ?", (time.time() - older_than_seconds,))
        return cur.rowcount

    def offsets(self, topic: str) -> dict[int, int]:
        return dict(self._db.execute("SELECT part, next_offset FROM tail_offsets WHERE topic = ?", (topic,)).fetchall())

    def save_offsets(self, topic: str, offsets: dict[int, int]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO tail_offsets VALUES (?, ?, ?)",
                                 [(topic, p, o) for p, o in offsets.items()])

    def count(self) -> int:
        return self._db.execute("SELECT count(*) FROM reviews").fetchone()[0]
