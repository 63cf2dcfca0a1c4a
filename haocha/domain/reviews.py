"""Counting rules: which reviews count (一次一评/一事一评, repeat presses, 追评), decided purely.

`classify` reads a small guard state (a mapping from string keys to JSON values) and returns the
verdict plus the guard updates. All keys of one review live in the same hall, so the stream keys
reviews by hall and keeps the guard in a table partitioned the same way.

Replay safety: a review may be classified again after a crash, with some, all or none of its
first classification's updates already in the guard. Every rule below gives the same verdict in
each of those cases: the review's own traces are recognised and never count against it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from schemas.review import BAD_RATINGS, Classification, ReviewSubmitted

PRESS_MEMORY = 16  # presses remembered per terminal; repeats come seconds apart
_press_id = itemgetter(0)  # a press is [review id, happened at (epoch seconds), had a case number]


@dataclass(frozen=True)
class CountingRules:
    repeat_window_seconds: float = 5.0


@dataclass(frozen=True)
class Verdict:
    classification: Classification | None  # None: the review must go to the dead-letter topic
    note: str = ""
    resend: bool = False  # the same review id (and content) was seen before
    counted: bool = field(init=False, repr=False, compare=False)  # read for every review: set once

    def __post_init__(self) -> None:
        object.__setattr__(self, "counted", self.classification == Classification.COUNTED)


def ticket_id_for(review_id: str) -> str:
    """One ticket per counted bad review, with an id anyone can derive from the review."""
    return f"TK-{review_id}"


def fingerprint(review: ReviewSubmitted, review_json: bytes | None = None) -> str:
    """The review's content without its receipt time: a resend (received again) has the same one.
    `review_json`: the review's own `model_dump_json()` bytes, if the caller has them already (the
    review hop dumps each review once); the fingerprint is the same."""
    body = review.model_dump_json(exclude={"received_at"}).encode() if review_json is None else \
        _without_received_at(review_json)
    return hashlib.blake2b(body, digest_size=12).hexdigest()


_RECEIVED_AT = b',"received_at":'


def _without_received_at(body: bytes) -> bytes:
    """`model_dump_json(exclude={"received_at"})` cut from the whole dump. Outside strings (where
    every quote is escaped) the sequence occurs as the field itself and as an `indicators` key,
    which comes earlier: the last one is the field. Its value is null or a timestamp string."""
    start = body.rfind(_RECEIVED_AT)
    value = start + len(_RECEIVED_AT)
    end = body.index(b'"', value + 1) + 1 if body[value] == 0x22 else value + 4
    return body[:start] + body[end:]


def opens_ticket(review: ReviewSubmitted, verdict: Verdict) -> bool:
    return verdict.counted and review.rating in BAD_RATINGS


def reopens_ticket(review: ReviewSubmitted, verdict: Verdict) -> bool:
    return verdict.classification == Classification.FOLLOW_UP and review.rating in BAD_RATINGS


def classify(
    review: ReviewSubmitted, guard: Mapping[str, Any], rules: CountingRules = CountingRules(),
    review_json: bytes | None = None,
) -> tuple[Verdict, dict[str, Any]]:
    """`review_json`: the review's `model_dump_json()` bytes, if the caller has them (`fingerprint`)."""
    fp = fingerprint(review, review_json)
    seen = guard.get(f"id:{review.review_id}")
    if seen is not None:
        if seen["fp"] != fp:
            return Verdict(None, "review_id_conflict: this review id was already used for another review"), {}
        return Verdict(Classification(seen["c"]), "resend of an already received review", resend=True), {}

    updates: dict[str, Any] = {}
    verdict = _follow_up(review, guard, updates) if review.follow_up_of else _first_review(review, guard, rules, updates)
    updates[f"id:{review.review_id}"] = {"fp": fp, "c": verdict.classification.value, "bad": review.rating in BAD_RATINGS}
    return verdict, updates


_COUNTED = Verdict(Classification.COUNTED)  # most reviews: one verdict for all


def _first_review(review: ReviewSubmitted, guard: Mapping[str, Any], rules: CountingRules, updates: dict) -> Verdict:
    press = _record_press(review, guard, rules.repeat_window_seconds, updates)
    if review.case_no:
        first = guard.get(f"case:{review.case_no}")
        if first is not None and first != review.review_id:
            return Verdict(Classification.DUPLICATE_CASE, f"case {review.case_no} was already rated by {first}")
        updates[f"case:{review.case_no}"] = review.review_id
        return _COUNTED
    if press is not None:
        return Verdict(Classification.REPEAT_PRESS, f"repeat of {press} on terminal {review.terminal_id}")
    return _COUNTED


def _record_press(review: ReviewSubmitted, guard: Mapping[str, Any], window: float, updates: dict) -> str | None:
    """Remember this press; return the id of an earlier press it repeats, if any."""
    key = f"term:{review.terminal_id}"
    review_id = review.review_id
    presses: list[list] = guard.get(key) or []
    ids = list(map(_press_id, presses))
    remembered = review_id in ids
    # Only presses that came before this one count, even if the guard already holds later ones.
    earlier = presses[: ids.index(review_id)] if remembered else presses
    ts = review.happened_at.timestamp()
    repeated = None
    if review.case_no is None:
        for rid, pts, had_case in reversed(earlier):
            if not had_case and 0 <= ts - pts <= window and rid != review_id:
                repeated = rid
                break
    if not remembered:
        updates[key] = [*presses[1 - PRESS_MEMORY:], [review_id, ts, review.case_no is not None]]
    return repeated


def _follow_up(review: ReviewSubmitted, guard: Mapping[str, Any], updates: dict) -> Verdict:
    original = guard.get(f"id:{review.follow_up_of}")
    if original is None:
        return Verdict(Classification.FOLLOW_UP_REJECTED, f"unknown original review {review.follow_up_of}")
    if original["c"] != Classification.COUNTED.value or not original.get("bad"):
        return Verdict(Classification.FOLLOW_UP_REJECTED, "only a counted bad review can get a 追评")
    used = guard.get(f"fu:{review.follow_up_of}")
    if used is not None and used != review.review_id:
        return Verdict(Classification.FOLLOW_UP_REJECTED, f"the one 追评 of {review.follow_up_of} was {used}")
    updates[f"fu:{review.follow_up_of}"] = review.review_id
    return Verdict(Classification.FOLLOW_UP)
