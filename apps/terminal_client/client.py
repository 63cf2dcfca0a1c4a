"""Store-and-forward client for hall terminals (standard library only, so vendors can ship it).

Every review is first written to a SQLite queue (synchronous=FULL: on disk before `submit`
returns), then sent. `drain` sends the queue oldest first, in batches, and marks a review sent only
after the gateway answered for it; a process killed in between resends it on restart, and the
gateway answers a resend with the original outcome instead of taking a second review. So nothing
queued is lost and nothing is doubled.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from apps.terminal_client.signing import ALG_HMAC_SHA256, sign_headers

log = logging.getLogger("apps.terminal_client")

# Answers that say "this review itself is wrong": retrying cannot help, so it leaves the queue
# (kept in the rejected table for the vendor to look at).
PERMANENT = frozenset({
    "empty", "not_json", "schema", "unknown_hall", "unknown_window", "impossible_time", "body_too_large",
    "review_id_conflict", "window_mismatch", "terminal_mismatch", "unknown_reason", "reason_required",
})
# Answers that say "this terminal is not set up right": stop and keep everything queued.
FATAL = frozenset({"unknown_terminal", "terminal_revoked", "bad_signature", "auth_missing", "auth_malformed",
                   "unsupported_alg", "channel_mismatch"})


class Unreachable(Exception):
    """No answer from the gateway (network down, refused, timed out)."""


class TerminalMisconfigured(Exception):
    """The gateway refuses this terminal itself; reviews stay queued until it is fixed."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: dict

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


class GatewayClient:
    """Signed requests to the gateway. `offset` corrects a wrong device clock for signing only
    (the review's happened_at keeps the device time: the platform records both)."""

    def __init__(self, base_url: str, terminal_id: str, key: str, *, alg: str = ALG_HMAC_SHA256,
                 timeout: float = 15.0, offset: float = 0.0):
        self.base_url = base_url.rstrip("/")
        self.terminal_id = terminal_id
        self.key = key
        self.alg = alg
        self.timeout = timeout
        self.offset = offset

    def request(self, method: str, path: str, body: bytes = b"") -> Response:
        headers = sign_headers(self.key, self.terminal_id, method, path, body, alg=self.alg,
                               timestamp=int(time.time() + self.offset))
        headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base_url + path, data=body if method != "GET" else None,
                                     headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return Response(resp.status, dict(resp.headers), _json(resp.read()))
        except urllib.error.HTTPError as exc:
            return Response(exc.code, dict(exc.headers or {}), _json(exc.read()))
        except (urllib.error.URLError, OSError, ValueError) as exc:  # ValueError: http.client on garbage
            raise Unreachable(str(exc)) from exc

    def post_review(self, review: dict) -> Response:
        return self.request("POST", "/v1/reviews", json.dumps(review, ensure_ascii=False).encode())

    def post_batch_raw(self, bodies: list[bytes]) -> Response:
        return self.request("POST", "/v1/reviews/batch", b'{"reviews":[' + b",".join(bodies) + b"]}")

    def whoami(self) -> Response:
        return self.request("GET", "/v1/terminal")

    def review_status(self, review_id: str) -> Response:
        return self.request("GET", f"/v1/reviews/{review_id}")


def _local_iso(unix: float) -> str:
    """The device's local time with its offset, as the reviews themselves carry it."""
    return datetime.fromtimestamp(unix).astimezone().isoformat(timespec="seconds")


def _json(raw: bytes) -> dict:
    try:
        data = json.loads(raw)
        return data if isinstance(data, dict) else {"value": data}
    except ValueError:
        return {"error": "bad_response", "detail": raw[:200].decode("utf-8", "replace")}


class Queue:
    """The durable outbox. One file per terminal; safe against kill -9 at any instruction."""

    def __init__(self, path: str | Path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a queued review survives power loss too
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, review_id TEXT UNIQUE NOT NULL,
                body BLOB NOT NULL, queued_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
            CREATE TABLE IF NOT EXISTS sent (review_id TEXT PRIMARY KEY, seq INTEGER, outcome TEXT, sent_at REAL);
            CREATE TABLE IF NOT EXISTS rejected (review_id TEXT, seq INTEGER, body BLOB, error TEXT, detail TEXT,
                rejected_at REAL);
            CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT);
        """)

    def close(self) -> None:
        self.db.close()

    def enqueue(self, review: dict) -> str:
        rid = review.get("review_id")
        if not isinstance(rid, str) or not rid:
            raise ValueError("a review needs its review_id (the idempotency key) before it is queued")
        body = json.dumps(review, ensure_ascii=False, separators=(",", ":")).encode()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            # Queuing the same review twice is a no-op, and a review already sent is not queued again.
            if self.db.execute("SELECT 1 FROM sent WHERE review_id = ?", (rid,)).fetchone() is None:
                self.db.execute("INSERT OR IGNORE INTO outbox (review_id, body, queued_at) VALUES (?, ?, ?)",
                                (rid, body, time.time()))
        return rid

    def peek(self, n: int) -> list[tuple[int, str, bytes]]:
        return self.db.execute("SELECT seq, review_id, body FROM outbox ORDER BY seq LIMIT ?", (n,)).fetchall()

    def settle(self, sent: list[tuple[int, str, dict]], rejected: list[tuple[int, str, bytes, str, str]]) -> None:
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT OR REPLACE INTO sent VALUES (?, ?, ?, ?)",
                                [(rid, seq, json.dumps(o, ensure_ascii=False), now) for seq, rid, o in sent])
            self.db.executemany("INSERT INTO rejected VALUES (?, ?, ?, ?, ?, ?)",
                                [(rid, seq, body, e, d, now) for seq, rid, body, e, d in rejected])
            self.db.executemany("DELETE FROM outbox WHERE seq = ?", [(s[0],) for s in sent] + [(r[0],) for r in rejected])

    def note_failure(self, seqs: list[int], error: str) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
                                [(error[:500], s) for s in seqs])

    def counts(self) -> dict[str, int]:
        q = lambda t: self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: E731
        return {"pending": q("outbox"), "sent": q("sent"), "rejected": q("rejected")}

    def get_meta(self, k: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT v FROM meta WHERE k = ?", (k,)).fetchone()
        return row[0] if row else default

    def set_meta(self, k: str, v: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (k, v))

    def rejected(self) -> list[dict]:
        rows = self.db.execute("SELECT review_id, error, detail, rejected_at FROM rejected ORDER BY seq").fetchall()
        return [{"review_id": r[0], "error": r[1], "detail": r[2], "rejected_at": _local_iso(r[3])} for r in rows]


@dataclass
class DrainResult:
    sent: int = 0
    rejected: int = 0
    remaining: int = 0
    stopped: str = "empty"  # empty | unreachable | deadline | misconfigured
    errors: list[str] = field(default_factory=list)
    answers: dict[str, dict] = field(default_factory=dict)  # review id -> the gateway's answer (or refusal)


class StoreAndForward:
    def __init__(self, client: GatewayClient, queue: Queue, *, batch_size: int = 50, backoff_initial: float = 1.0,
                 backoff_max: float = 300.0, sleep: Callable[[float], None] = time.sleep):
        self.client = client
        self.queue = queue
        self.batch_size = batch_size
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.sleep = sleep
        saved = queue.get_meta("clock_offset")
        if saved is not None and not client.offset:
            client.offset = float(saved)

    def submit(self, review: dict, *, send_now: bool = True) -> str:
        """Queue durably, then try one pass; offline is fine, the review waits in the queue."""
        rid = self.queue.enqueue(review)
        if send_now:
            try:
                self.drain(until_empty=False)
            except TerminalMisconfigured as exc:
                log.error("review %s queued, but the gateway refuses this terminal: %s", rid, exc)
        return rid

    def drain(self, *, until_empty: bool = True, max_seconds: float | None = None, pause: float = 0.0) -> DrainResult:
        """Send the queue in order. until_empty=False: stop at the first sign the gateway is away.
        Backoff is exponential with jitter, capped, and reset by any answer."""
        res = DrainResult()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        backoff = self.backoff_initial
        while True:
            batch = self.queue.peek(self.batch_size)
            if not batch:
                res.stopped = "empty"
                break
            if deadline is not None and time.monotonic() >= deadline:
                res.stopped = "deadline"
                break
            try:
                wait = self._send(batch, res)
            except Unreachable as exc:
                res.errors.append(str(exc))
                self.queue.note_failure([b[0] for b in batch], f"unreachable: {exc}")
                if not until_empty:
                    res.stopped = "unreachable"
                    break
                wait = backoff
                backoff = min(backoff * 2, self.backoff_max)
            else:
                if wait == 0:
                    backoff = self.backoff_initial
            if wait:
                wait = wait * (0.8 + 0.4 * random.random())
                if deadline is not None:
                    wait = min(wait, max(0.0, deadline - time.monotonic()))
                self.sleep(wait)
            elif pause:
                self.sleep(pause)
        res.remaining = self.queue.counts()["pending"]
        return res

    def _send(self, batch: list[tuple[int, str, bytes]], res: DrainResult) -> float:
        """One request; settle what it answered. Returns seconds to wait before the next."""
        r = self.client.post_batch_raw([b[2] for b in batch]) if len(batch) > 1 else self._single(batch[0])
        if r.status == 200 and isinstance(r.body.get("results"), list):
            return self._settle_results(batch, r.body["results"], res)
        if r.status in (200, 202) and r.body.get("review_id"):  # a single post
            self.queue.settle([(batch[0][0], batch[0][1], r.body)], [])
            res.sent += 1
            res.answers[batch[0][1]] = r.body
            return 0.0
        err = r.error or f"http_{r.status}"
        res.errors.append(f"{err}: {r.body.get('detail', '')}")
        if err == "stale_timestamp" and "server_time" in r.body:
            # The device clock is off: sign with the gateway's time from now on (and remember it).
            self.client.offset = float(r.body["server_time"]) - time.time()
            self.queue.set_meta("clock_offset", str(self.client.offset))
            log.warning("device clock is off by %+.0f s; signing with the gateway's clock", self.client.offset)
            return 0.0
        if err in FATAL:
            raise TerminalMisconfigured(f"{err}: {r.body.get('detail', '')}")
        if len(batch) > 1 and err in ("batch_too_large", "body_too_large"):
            self.batch_size = max(1, len(batch) // 2)  # the gateway's limit is below ours: smaller batches
            return 0.0
        if err in PERMANENT and len(batch) > 1:
            # The batch as a whole was refused: send its reviews one by one to isolate the culprit.
            for item in batch:
                if self._send([item], res) != 0.0:
                    return self.backoff_initial
            return 0.0
        if err in PERMANENT:
            seq, rid, body = batch[0]
            self.queue.settle([], [(seq, rid, body, err, str(r.body.get("detail", "")))])
            res.rejected += 1
            res.answers[rid] = r.body
            return 0.0
        self.queue.note_failure([b[0] for b in batch], err)
        if r.status == 429 or r.status == 503:
            return float(r.headers.get("Retry-After") or self.backoff_initial)
        return self.backoff_initial  # nonce_reused and anything unexpected: try again shortly

    def _single(self, item: tuple[int, str, bytes]) -> Response:
        return self.client.request("POST", "/v1/reviews", item[2])

    def _settle_results(self, batch, results: list[dict], res: DrainResult) -> float:
        by_index = {r.get("index"): r for r in results}
        sent, rejected = [], []
        for i, (seq, rid, body) in enumerate(batch):
            r = by_index.get(i) or {}
            if r.get("status") in ("accepted", "resend"):
                sent.append((seq, rid, r))
            elif r.get("status") == "rejected" and r.get("error") in PERMANENT:
                rejected.append((seq, rid, body, r.get("error"), str(r.get("detail", ""))))
            else:
                break  # keep order: nothing after an undelivered review is settled out of turn
        self.queue.settle(sent, rejected)
        res.answers.update({rid: r for _, rid, r in sent})
        res.answers.update({rid: {"error": e, "detail": d} for _, rid, _, e, d in rejected})
        res.sent += len(sent)
        res.rejected += len(rejected)
        if len(sent) + len(rejected) < len(batch):
            return self.backoff_initial
        return 0.0
