"""The gateway's work, independent of HTTP: authenticate, validate, deduplicate, produce, answer.

Every way in (single post, batch, the kiosk page) goes through `authenticate` and `_process`, so a
kiosk review is checked exactly like a pad's; the kiosk page's own gate is its paired browser
(apps/gateway/pairing.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
from multidict import CIMultiDict

from haocha.domain.directory import Directory
from haocha.domain.reviews import fingerprint
from apps.gateway.auth import SignatureVerifier
from apps.gateway.errors import STATUS, GatewayError
from apps.gateway.idempotency import IdempotencyStore, Outcome
from apps.gateway.pairing import KioskDevices
from apps.gateway.ratelimit import TokenBuckets, retry_after
from apps.gateway.registry import Registry, Terminal
from apps.gateway.publisher import Publisher
from haocha.adapters.clock import Clock, SystemClock
from haocha.settings import Settings
from apps.terminal_client.signing import H_TERMINAL, sign_headers
from schemas.review import REASON_TAGS, DeadLetter, ReviewSubmitted
from haocha.domain.intake import dead_letter, parse_submission

log = logging.getLogger("apps.gateway")

PATH_SINGLE = "/v1/reviews"
PATH_BATCH = "/v1/reviews/batch"
DEAD_PREFIX_BYTES = 4096  # of an oversized body, kept in the dead letter


@dataclass
class Incoming:
    method: str
    path: str  # as sent, query included: it is signed
    headers: Mapping[str, str]
    body: bytes
    remote: str


@dataclass
class Reply:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Item:
    """One review of a request on its way through the pipeline."""

    index: int
    raw: bytes
    review: ReviewSubmitted | None = None
    data: dict | None = None
    error: GatewayError | None = None
    result: dict | None = None  # the answer for this item
    status: int = 0


class KeyedLocks:
    """One lock per review id: a resend racing its original waits and then gets its answer."""

    def __init__(self) -> None:
        self._locks: dict[str, list] = {}

    @asynccontextmanager
    async def hold(self, keys: Iterable[str]):
        entries = []
        for k in sorted(set(keys)):  # one global order: no deadlock between overlapping batches
            e = self._locks.setdefault(k, [asyncio.Lock(), 0])
            e[1] += 1
            entries.append((k, e))
        acquired = []
        try:
            for _, e in entries:
                await e[0].acquire()
                acquired.append(e)
            yield
        finally:
            for e in acquired:
                e[0].release()
            for k, e in entries:
                e[1] -= 1
                if e[1] == 0:
                    self._locks.pop(k, None)


class Gateway:
    def __init__(self, settings: Settings, directory: Directory, registry: Registry,
                 publisher: Publisher, store: IdempotencyStore, clock: Clock = SystemClock()):
        self.settings = settings
        self.directory = directory
        self.registry = registry
        self.publisher = publisher
        self.store = store
        self.clock = clock
        self.verifier = SignatureVerifier(registry, skew_seconds=settings.gateway_clock_skew_seconds,
                                          algorithms=settings.algorithms, clock=clock)
        self.limits = TokenBuckets(settings.gateway_rate_per_second, settings.gateway_rate_burst)
        self.refusals = TokenBuckets(settings.gateway_refusal_rate_per_second, settings.gateway_refusal_burst)
        self.counters: Counter[str] = Counter()
        self._locks = KeyedLocks()
        self._suppressed = 0
        self._tz = ZoneInfo(settings.timezone)
        self._kiosk_nets = settings.kiosk_networks
        self.devices = KioskDevices(settings, registry, clock)

    # --- authentication and refusals --------------------------------------------------------------

    def authenticate(self, req: Incoming) -> Terminal:
        if not self.registry.ready.is_set():
            raise GatewayError("unavailable", "the terminal registry is still loading", headers={"Retry-After": "2"})
        try:
            terminal = self.verifier.verify(req.method, req.path, req.headers, req.body)
        except GatewayError as err:
            raise self.refused(err, req) from None
        wait = self.limits.take(terminal.terminal_id)
        if wait:
            self.counters["rate_limited"] += 1
            raise GatewayError("rate_limited", f"terminal {terminal.terminal_id} is over its request rate",
                               headers={"Retry-After": retry_after(wait)})
        return terminal

    def refused(self, err: GatewayError, req: Incoming) -> GatewayError:
        """Count and log a refused attempt. A client address that keeps failing gets 429 instead:
        the log is not flooded, and it learns nothing more. Good requests never touch this bucket,
        so a broken pad behind the hall's NAT does not lock out its neighbours."""
        self.counters[err.code] += 1
        wait = self.refusals.take(req.remote)
        if wait:
            self._suppressed += 1
            if self._suppressed % 100 == 1:
                log.warning("refusals from %s throttled (%d suppressed so far)", req.remote, self._suppressed)
            return GatewayError("rate_limited", "too many refused requests from this address",
                                headers={"Retry-After": retry_after(wait)})
        claimed = str(req.headers.get(H_TERMINAL, ""))[:64]
        log.warning("refused %s %s from %s terminal=%r: %s (%s)", req.method, req.path[:200], req.remote, claimed,
                    err.code, err.detail)
        return err

    async def too_large(self, req: Incoming, size: int | None) -> GatewayError:
        err = GatewayError("body_too_large", f"request body {'of ' + str(size) + ' bytes ' if size else ''}"
                           f"exceeds {self.settings.gateway_max_body_bytes} bytes")
        out = self.refused(err, req)
        if out is err:  # not throttled: keep the head of it; it reached the gateway
            claimed = str(req.headers.get(H_TERMINAL, ""))[:64]
            await self.publisher.dead_letter(dead_letter(
                req.body[:DEAD_PREFIX_BYTES], source=f"gateway:{req.method} {req.path[:200]}", reason=err.code,
                detail=f"{err.detail}; first {DEAD_PREFIX_BYTES} bytes kept; unauthenticated, claimed terminal {claimed!r}",
                key=claimed.encode() or None, failed_at=self.clock.now()), claimed.encode() or None)
        return out

    # --- the endpoints ------------------------------------------------------------------------------

    async def post_single(self, req: Incoming, source: str | None = None) -> Reply:
        terminal = self.authenticate(req)
        item = _Item(0, req.body)
        await self._process(terminal, [item], source or f"gateway:POST {PATH_SINGLE}")
        if item.error is not None:
            return Reply(item.error.status, item.error.body(), item.error.headers)
        return Reply(item.status, item.result or {})

    async def post_batch(self, req: Incoming) -> Reply:
        terminal = self.authenticate(req)
        source = f"gateway:POST {PATH_BATCH}"
        received = self.clock.now()
        try:
            data = orjson.loads(req.body) if req.body else None
        except orjson.JSONDecodeError as exc:
            await self._dead(req.body, source, "not_json", f"not JSON: {exc}", terminal, received)
            raise GatewayError("not_json", f"not JSON: {exc}") from None
        reviews = data.get("reviews") if isinstance(data, dict) else None
        if not isinstance(reviews, list):
            code = "empty" if data is None else "schema"
            detail = 'a batch is a JSON object {"reviews": [review, ...]}'
            await self._dead(req.body, source, code, detail, terminal, received)
            raise GatewayError(code, detail)
        if len(reviews) > self.settings.gateway_max_batch:
            detail = f"{len(reviews)} reviews; at most {self.settings.gateway_max_batch} per batch"
            await self._dead(req.body[:DEAD_PREFIX_BYTES], source, "batch_too_large", detail, terminal, received)
            raise GatewayError("batch_too_large", detail)
        items = [_Item(i, orjson.dumps(r)) for i, r in enumerate(reviews)]
        await self._process(terminal, items, source)
        results, tally = [], Counter()
        for it in items:
            if it.error is not None:
                results.append({"index": it.index, "review_id": _rid(it), "status": "rejected",
                                "http_status": it.error.status, **it.error.body()})
                tally["rejected"] += 1
            else:
                kind = "resend" if it.result.get("resend") else "accepted"
                results.append({"index": it.index, "http_status": it.status, **it.result, "status": kind})
                tally[kind] += 1
        return Reply(200, {"results": results, "accepted": tally["accepted"], "resent": tally["resend"],
                           "rejected": tally["rejected"]})

    async def get_status(self, req: Incoming, review_id: str) -> Reply:
        terminal = self.authenticate(req)
        outcome = self.store.get(review_id)
        if outcome is None or outcome.terminal_id != terminal.terminal_id:
            raise GatewayError("not_found", f"review {review_id[:64]!r} is not known to this gateway for this terminal")
        return Reply(200, _answer(outcome, resend=False))

    def whoami(self, req: Incoming) -> Reply:
        t = self.authenticate(req)
        r = t.record
        return Reply(200, {"terminal_id": r.terminal_id, "hall_id": r.hall_id, "window_id": r.window_id,
                           "channel": r.channel, "server_time": int(self.clock.now().timestamp())})

    # --- kiosk: the page's key stays here; its browser is paired, its reviews signed here ------------

    def kiosk_terminal(self, terminal_id: str, remote: str) -> Terminal:
        """An active kiosk terminal, asked for from an allowed network (HAOCHA_GATEWAY_KIOSK_ALLOW_FROM)."""
        nets = self._kiosk_nets
        if nets:
            try:
                addr = ipaddress.ip_address(remote)
            except ValueError:
                addr = None
            if addr is None or not any(addr in n for n in nets):
                log.warning("kiosk page %s refused to %s: not in HAOCHA_GATEWAY_KIOSK_ALLOW_FROM", terminal_id[:64], remote)
                raise GatewayError("kiosk_forbidden", "kiosk pages are not served to this address")
        t = self.registry.get(terminal_id)
        if t is None or not t.active or t.record.channel != "kiosk" or t.key is None:
            raise GatewayError("not_kiosk", f"{terminal_id[:64]!r} is not an active kiosk terminal")
        return t

    def kiosk_device(self, terminal_id: str, remote: str, token: str | None, path: str) -> Terminal:
        """The kiosk terminal, if this browser is its paired one. Other attempts count as refusals
        of their address: a stranger is throttled, and never spends the kiosk's own rate."""
        t = self.kiosk_terminal(terminal_id, remote)
        try:
            self.devices.check(t, token)
        except GatewayError as err:
            raise self.refused(err, Incoming("POST", path, {H_TERMINAL: terminal_id[:64]}, b"", remote)) from None
        return t

    def kiosk_config(self, terminal_id: str, remote: str, token: str | None) -> dict:
        from schemas.review import RATING_LABELS

        t = self.kiosk_terminal(terminal_id, remote)
        self.devices.check(t, token)  # a fresh kiosk asks this first: unpaired is its normal answer
        r = t.record
        return {
            "terminal_id": r.terminal_id, "hall_id": r.hall_id, "window_id": r.window_id,
            "hall_name": self.directory.halls.get(r.hall_id, r.hall_id),
            "window_name": w.name if (w := self.directory.windows.get(r.window_id)) else r.window_id,
            "department_name": self.directory.department_name(self.directory.department_for(r.hall_id, r.window_id)),
            "ratings": [{"rating": k, "label": v} for k, v in sorted(RATING_LABELS.items(), reverse=True)],
            "reasons": list(REASON_TAGS), "thanks_seconds": self.settings.gateway_kiosk_thanks_seconds,
            "idle_seconds": self.settings.gateway_kiosk_idle_seconds,
        }

    async def kiosk_pair(self, terminal_id: str, body: bytes, remote: str) -> str:
        """The pairing code typed on the kiosk -> the browser's device credential."""
        t = self.kiosk_terminal(terminal_id, remote)
        try:
            page = orjson.loads(body)
        except orjson.JSONDecodeError:
            page = None
        try:
            token = await self.devices.pair(t, page.get("code") if isinstance(page, dict) else None)
        except GatewayError as err:
            raise self.refused(err, Incoming("POST", f"/kiosk/{terminal_id[:64]}/pair", {H_TERMINAL: terminal_id[:64]},
                                             b"", remote)) from None
        log.info("kiosk %s paired with the browser at %s", terminal_id, remote)
        return token

    async def kiosk_post(self, terminal_id: str, body: bytes, remote: str, token: str | None) -> Reply:
        t = self.kiosk_device(terminal_id, remote, token, f"/kiosk/{terminal_id[:64]}/reviews")
        try:
            page = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise GatewayError("not_json", f"not JSON: {exc}") from None
        if not isinstance(page, dict):
            raise GatewayError("schema", "a kiosk review is a JSON object")
        phone = page.get("phone") or None
        rating = page.get("rating")
        rid = page.get("review_id") or uuid.uuid4().hex
        review = {
            "review_id": rid, "channel": "kiosk", "hall_id": t.record.hall_id, "window_id": t.record.window_id,
            "terminal_id": t.terminal_id, "rating": rating,
            "reasons": (page.get("reasons") or []) if rating in (1, 2) else [],
            "evaluator": {"real_name": phone is not None, "phone": phone},
            "happened_at": self._kiosk_time(t, rid).isoformat(),
        }
        if page.get("comment"):
            review["comment"] = page["comment"]
        signed = orjson.dumps(review)
        headers = CIMultiDict(sign_headers(t.key, t.terminal_id, "POST", PATH_SINGLE, signed))
        return await self.post_single(Incoming("POST", PATH_SINGLE, headers, signed, remote),
                                      source=f"gateway:kiosk {terminal_id}")

    def _kiosk_time(self, t: Terminal, review_id: object) -> datetime:
        """The server's time, never the page's (a page could back-date); a retried post (same review
        id) keeps the time of its first arrival, so it is the same review."""
        prior = self.store.get(review_id) if isinstance(review_id, str) else None
        if prior is not None and prior.terminal_id == t.terminal_id:
            return datetime.fromtimestamp(prior.happened_ts, self._tz)
        return self.clock.now().astimezone(self._tz).replace(microsecond=0)

    # --- the pipeline -------------------------------------------------------------------------------

    async def _process(self, terminal: Terminal, items: list[_Item], source: str) -> None:
        received = self.clock.now()
        dead: list[tuple[bytes, str, GatewayError]] = []
        for it in items:
            self._validate(terminal, it, received, source)
            if it.error is not None:
                dead.append((it.raw, source, it.error))
        valid = [it for it in items if it.error is None]
        async with self._locks.hold(it.review.review_id for it in valid):
            to_send: list[_Item] = []
            outcomes: list[Outcome] = []
            seen: dict[str, Outcome] = {}  # earlier items of this same request
            stored = self.store.get_many([it.review.review_id for it in valid])
            owners = self.store.case_owners([it.review.case_no for it in valid if it.review.case_no])
            for it in valid:
                rid = it.review.review_id
                fp = fingerprint(it.review)
                prior = seen.get(rid) or stored.get(rid)
                if prior is not None:
                    if prior.fp == fp and prior.terminal_id == terminal.terminal_id:
                        it.status, it.result = prior.status, _answer(prior, resend=True)
                        self.counters["resend"] += 1
                        continue
                    it.error = GatewayError("review_id_conflict",
                                            f"review id {rid} was already used for a different review")
                    dead.append((it.raw, source, it.error))
                    continue
                it.data["received_at"] = received.isoformat()
                answer = {"status": "accepted", "review_id": rid, "received_at": received.isoformat(),
                          "happened_at": it.review.happened_at.isoformat(),
                          "hint": self._hint(it.review, outcomes, owners), "resend": False, "classification": None}
                outcome = Outcome(rid, terminal.terminal_id, fp, 202, answer,
                                  it.review.case_no if not it.review.follow_up_of else None,
                                  it.review.happened_at.timestamp(), it.review.case_no is None)
                seen[rid] = outcome
                outcomes.append(outcome)
                to_send.append(it)
                it.status, it.result = 202, answer
            if dead:
                await asyncio.gather(*(self._dead(raw, src, err.code, err.detail, terminal, received)
                                       for raw, src, err in dead))
            if to_send:
                # Acknowledged by Kafka before answering: a 202 is never lost.
                await self.publisher.send_reviews([(it.review.hall_id.encode(), orjson.dumps(it.data)) for it in to_send])
                self.store.put_many(outcomes)
                self.counters["accepted"] += len(to_send)
        for it in items:
            if it.error is not None:
                self.counters[it.error.code] += 1

    def _validate(self, terminal: Terminal, it: _Item, received: datetime, source: str) -> None:
        """The stream's intake checks (parse_submission) with the reason tags, then the gateway's
        own: the window exists in the hall, the terminal posts only for itself, its own window and
        the channel it was registered as."""
        raw = it.raw
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict) and "received_at" in data:
            # Receipt is the platform's to state (the stream trusts the stamp): a terminal's own
            # received_at is replaced, never believed. The dead letter still keeps the raw bytes.
            data.pop("received_at")
            raw = orjson.dumps(data)
        res = parse_submission(raw, source=source, key=terminal.terminal_id.encode(), partition=None, offset=None,
                               received_at=received, directory=self.directory, reason_tags=REASON_TAGS)
        review, rec = res, terminal.record
        if isinstance(res, DeadLetter):
            it.error = GatewayError(res.reason if res.reason in STATUS else "schema", res.detail)
        elif (w := self.directory.windows.get(review.window_id)) is None or w.hall_id != review.hall_id:
            it.error = GatewayError("unknown_window", f"window {review.window_id} is not in hall {review.hall_id}")
        elif review.terminal_id != terminal.terminal_id:
            it.error = GatewayError("terminal_mismatch",
                                    f"review names terminal {review.terminal_id}, request is signed by {terminal.terminal_id}")
        elif (review.hall_id, review.window_id) != (rec.hall_id, rec.window_id):
            it.error = GatewayError("window_mismatch", f"terminal {terminal.terminal_id} is bound to "
                                    f"{rec.hall_id}/{rec.window_id}, not {review.hall_id}/{review.window_id}")
        elif review.channel != rec.channel:
            it.error = GatewayError("channel_mismatch", f"terminal {terminal.terminal_id} is registered as "
                                    f"{rec.channel}, not {review.channel}")
        else:
            it.review = review
            it.data = data  # produced as sent, with the platform's received_at
        if it.error is not None:
            log.warning("refused review from terminal %s: %s (%s)", terminal.terminal_id, it.error.code, it.error.detail)

    def _hint(self, review: ReviewSubmitted, earlier: list[Outcome], owners: dict[str, str]) -> dict | None:
        """What the stream will most likely decide, when the gateway can already tell."""
        if review.follow_up_of:
            return None
        rid = review.review_id
        if review.case_no:
            owner = owners.get(review.case_no) or next(
                (o.review_id for o in earlier if o.case_no == review.case_no), None)
            if owner and owner != rid:
                return {"classification": "duplicate_case",
                        "note": f"case {review.case_no} was already rated by {owner}: kept, not counted (一次一评)"}
            return None
        ts, window = review.happened_at.timestamp(), self.settings.repeat_window_seconds
        press = next((o.review_id for o in reversed(earlier) if o.no_case and o.terminal_id == review.terminal_id
                      and 0 <= ts - o.happened_ts <= window), None) \
            or self.store.earlier_press(review.terminal_id, ts, window, rid)
        if press:
            return {"classification": "repeat_press",
                    "note": f"repeat of {press} within {window:g} s without a case number: kept, not counted"}
        return None

    async def _dead(self, raw: bytes, source: str, code: str, detail: str, terminal: Terminal, at: datetime) -> None:
        key = terminal.terminal_id.encode()
        await self.publisher.dead_letter(dead_letter(raw, source=source, reason=code, detail=detail, key=key, failed_at=at), key)

    def stats(self) -> dict:
        return {"terminals": len(self.registry), "nonces": len(self.verifier.nonces), "counters": dict(self.counters)}


def _answer(outcome: Outcome, *, resend: bool) -> dict:
    body = dict(outcome.response)
    body["resend"] = resend
    if outcome.classification:
        body["classification"] = {"classification": outcome.classification, "note": outcome.class_note or ""}
    return body


def _rid(it: _Item) -> str | None:
    if it.review is not None:
        return it.review.review_id
    try:
        rid = orjson.loads(it.raw).get("review_id")
        return rid if isinstance(rid, str) else None
    except Exception:
        return None
