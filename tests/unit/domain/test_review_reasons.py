"""Reason tags at the gateway's door: tags of the list only, and a bad review gives one. The stream
checks no tags, so a review already in the log is taken on replay as it was the first time."""

from datetime import datetime, timezone

import orjson
import pytest

from haocha.domain.intake import parse_submission
from schemas.review import BAD_RATINGS, REASON_TAGS, DeadLetter, ReviewSubmitted

NOW = datetime(2021, 5, 6, 3, 0, tzinfo=timezone.utc)
GOOD = {"review_id": "R1", "channel": "pad", "hall_id": "H-CY", "window_id": "H-CY-W01", "rating": 4,
        "happened_at": "2021-05-06T10:00:00+08:00", "terminal_id": "T1"}


def parse(review: dict, tags=REASON_TAGS):
    return parse_submission(orjson.dumps(review), source="gateway", key=None, partition=None, offset=None,
                            received_at=NOW, reason_tags=tags)


@pytest.mark.parametrize("rating", sorted(BAD_RATINGS))
def test_a_bad_review_needs_a_reason(rating):
    out = parse(dict(GOOD, rating=rating))
    assert isinstance(out, DeadLetter) and out.reason == "reason_required"
    assert isinstance(parse(dict(GOOD, rating=rating, reasons=["其他"], comment="没人接待")), ReviewSubmitted)


def test_reasons_outside_the_tag_list_are_refused():
    out = parse(dict(GOOD, rating=2, reasons=["效率低", "=cmd|' /C calc'!A0"]))
    assert isinstance(out, DeadLetter) and out.reason == "unknown_reason"
    assert parse(dict(GOOD, rating=5, reasons=["态度好"])).reason == "unknown_reason"


def test_the_stream_takes_logged_reviews_as_they_were():
    assert isinstance(parse(dict(GOOD, rating=1), tags=None), ReviewSubmitted)
