"""Building a wire-format v1 review on the terminal."""

from __future__ import annotations

import uuid
from datetime import datetime


def new_review(
    terminal_id: str, hall_id: str, window_id: str, *, rating: int, channel: str = "pad", case_no: str | None = None,
    reasons: list[str] | tuple[str, ...] = (), comment: str | None = None, phone: str | None = None,
    review_id: str | None = None, happened_at: datetime | None = None, **extra,
) -> dict:
    """The review id is made here, once: it is the idempotency key for every resend.
    happened_at is the device's local time with its offset (what the evaluator saw)."""
    review = {
        "review_id": review_id or uuid.uuid4().hex,
        "channel": channel,
        "hall_id": hall_id,
        "window_id": window_id,
        "terminal_id": terminal_id,
        "rating": rating,
        "happened_at": (happened_at or datetime.now().astimezone()).isoformat(),
    }
    if case_no:
        review["case_no"] = case_no
    if reasons:
        review["reasons"] = list(reasons)
    if comment:
        review["comment"] = comment
    if phone:
        review["evaluator"] = {"real_name": True, "phone": phone}
    review.update(extra)
    return review
