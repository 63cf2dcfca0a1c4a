"""Intake: raw terminal bytes -> a validated review, or a dead letter that says why."""

from __future__ import annotations

import base64
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

import orjson
from pydantic import ValidationError

from haocha.domain.directory import Directory
from haocha.domain.privacy import mask_phones_in_bytes, mask_phones_in_text
from schemas.review import BAD_RATINGS, DeadLetter, ReviewSubmitted

# Seals a dead letter's raw bytes (associated data: its source), e.g. haocha.adapters.sealing.Sealer.seal.
Seal = Callable[[bytes, bytes], str]

# A device clock more than this far ahead of the platform is wrong, not early.
MAX_FUTURE_SKEW = timedelta(hours=1)
MAX_AGE = timedelta(days=400)


def parse_submission(
    raw: bytes | None, *, source: str, key: bytes | None, partition: int | None, offset: int | None,
    received_at: datetime, directory: Directory | None = None, reason_tags: Collection[str] | None = None,
    seal: Seal | None = None,
) -> ReviewSubmitted | DeadLetter:
    """`reason_tags`: the tag list reasons are checked against (the gateway's door). The stream
    passes none: a review already in the log is taken on replay as it was taken the first time.
    `seal`: how a dead letter keeps its raw bytes (see `dead_letter`).

    A phone number typed into the comment is masked here, on the way in: every store and export
    downstream (topics, tables, reports) gets the masked comment."""
    got = _admitted(raw, received_at, directory, reason_tags)
    if isinstance(got, tuple):
        reason, detail = got
        return dead_letter(raw, source=source, reason=reason, detail=detail, key=key, partition=partition,
                           offset=offset, failed_at=received_at, seal=seal)
    return got


def _admitted(raw: bytes | None, now: datetime, directory: Directory | None,
              reason_tags: Collection[str] | None) -> ReviewSubmitted | tuple[str, str]:
    """The review as taken in, or (reason, detail) of why not."""
    if not raw:
        return "empty", "empty message"
    try:
        review = _validate_json(raw)
    except ValidationError:
        got = _validate_parsed(raw)
        if isinstance(got, tuple):
            return got
        review = got
    # The gateway stamps receipt; a review straight from a producer is received now.
    received = review.received_at or now
    if received > now + MAX_FUTURE_SKEW:
        return "impossible_time", f"received_at {received.isoformat()} is in the future"
    if review.happened_at > received + MAX_FUTURE_SKEW:
        return "impossible_time", f"happened_at {review.happened_at.isoformat()} is after its receipt"
    if review.happened_at < received - MAX_AGE:
        return "impossible_time", f"happened_at {review.happened_at.isoformat()} is too long before receipt"
    if directory is not None and review.hall_id not in directory.halls:
        return "unknown_hall", f"hall {review.hall_id} is not in the directory"
    if reason_tags is not None and (problem := reason_problem(review, reason_tags)):
        return problem
    if review.received_at is None:
        review = review.model_copy(update={"received_at": now})
    if review.comment:
        masked = mask_phones_in_text(review.comment)
        if masked != review.comment:
            review = review.model_copy(update={"comment": masked})
    return review


# Straight from the bytes, in pydantic-core, one call per review (the hot path of the review hop).
_validate_json = ReviewSubmitted.__pydantic_validator__.validate_json


def _validate_parsed(raw: bytes) -> ReviewSubmitted | tuple[str, str]:
    """Input the JSON validator refused, parsed first to say why: not JSON, or which fields are
    wrong. The review if this route takes it after all (the two routes are meant to agree on what
    they accept, tests/unit/domain/test_intake.py; this one is the rule)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return "not_json", f"not JSON: {exc}"
    if not isinstance(data, dict):
        return "schema", "a review is a JSON object"
    try:
        return ReviewSubmitted.model_validate(data)
    except ValidationError as exc:
        return "schema", _summarise(exc)


def reason_problem(review: ReviewSubmitted, tags: Collection[str]) -> tuple[str, str] | None:
    """Reasons are tags of the list (其他 among them; the evaluator's own words go in `comment`),
    and a bad review gives at least one: a ticket must say what to rectify."""
    unknown = [r for r in review.reasons if r not in tags]
    if unknown:
        return "unknown_reason", f"reasons {unknown} are not tags of the list ({', '.join(tags)}); free text goes in comment"
    if review.rating in BAD_RATINGS and not review.reasons:
        return "reason_required", f"a rating of {review.rating} needs at least one reason ({', '.join(tags)})"
    return None


def dead_letter(raw: bytes | None, *, source: str, reason: str, detail: str, key: bytes | None = None,
                partition: int | None = None, offset: int | None = None, failed_at: datetime,
                seal: Seal | None = None) -> DeadLetter:
    """The raw bytes are kept twice: `raw`, a copy for display with phone numbers masked, and
    `sealed`, the bytes themselves, encrypted by `seal` (None: not kept; the gateway's tests), so
    that a dead letter can be replayed after a fix (`haocha deadletters replay`) while no personal
    data is at rest in clear."""
    raw = raw or b""
    shown = mask_phones_in_bytes(raw)
    try:
        text, enc = shown.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, enc = base64.b64encode(shown).decode(), "base64"
    return DeadLetter(
        source=source, reason=reason, detail=mask_phones_in_text(detail[:2000]), raw=text, raw_encoding=enc,
        sealed=seal(raw, source.encode("utf-8")) if seal is not None else None,
        key=mask_phones_in_text(key.decode("utf-8", "replace")) if key else None, partition=partition,
        offset=offset, failed_at=failed_at,
    )


def _summarise(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
