from datetime import datetime, timedelta, timezone

import orjson
import pytest

from haocha.domain.directory import Directory
from haocha.settings import PACKAGE_DATA
from schemas.review import DeadLetter, ReviewSubmitted
from haocha.domain.intake import parse_submission

NOW = datetime(2021, 5, 6, 3, 0, tzinfo=timezone.utc)
DIRECTORY = Directory.load(PACKAGE_DATA / "directory.json")
GOOD = {"review_id": "R1", "channel": "pad", "hall_id": "H-CY", "window_id": "H-CY-W01", "rating": 4,
        "happened_at": "2021-05-06T10:00:00+08:00", "terminal_id": "T1"}


def parse(raw: bytes):
    return parse_submission(raw, source="reviews.submitted", key=b"k", partition=1, offset=7, received_at=NOW,
                            directory=DIRECTORY)


def test_a_good_review_is_stamped_with_its_receipt():
    r = parse(orjson.dumps(GOOD))
    assert isinstance(r, ReviewSubmitted) and r.received_at == NOW


def test_a_receipt_stamped_by_the_gateway_is_kept_for_late_delivery():
    late = dict(GOOD, happened_at="2021-04-28T10:00:00+08:00", received_at="2021-05-06T09:00:00+08:00")
    r = parse(orjson.dumps(late))
    assert r.received_at.isoformat() == "2021-05-06T09:00:00+08:00"


@pytest.mark.parametrize("raw, reason", [
    (b"", "empty"), (b"{oops", "not_json"), (b"[1,2]", "schema"), (b"\xff\xfe\x00", "not_json"),
    (orjson.dumps(dict(GOOD, rating="five")), "schema"),
    (orjson.dumps(dict(GOOD, hall_id="H-NOWHERE")), "unknown_hall"),
    (orjson.dumps(dict(GOOD, happened_at="2031-01-01T00:00:00+08:00")), "impossible_time"),
    (orjson.dumps(dict(GOOD, happened_at="2019-01-01T00:00:00+08:00")), "impossible_time"),
])
def test_bad_input_becomes_a_dead_letter_with_its_raw_bytes(raw, reason):
    d = parse(raw)
    assert isinstance(d, DeadLetter)
    assert d.reason == reason and d.partition == 1 and d.offset == 7 and d.key == "k"
    if d.raw_encoding == "utf-8":
        assert d.raw == raw.decode()
    else:
        import base64
        assert base64.b64decode(d.raw) == raw
