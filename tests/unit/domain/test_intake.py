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


def _by_parsing(raw: bytes):
    """What intake took before it validated straight from the bytes: orjson, then the model."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "not_json"
    if not isinstance(data, dict):
        return "schema"
    try:
        return ReviewSubmitted.model_validate(data).model_dump_json()
    except ValueError:
        return "schema"


_B = orjson.dumps(dict(GOOD, received_at="2021-05-06T10:00:03+08:00"))[:-1]
TRICKY = [
    _B + b"}", b" \n" + _B + b"}\n ", b"\xef\xbb\xbf" + _B + b"}", _B + b"}x", _B + b"}{}",
    _B + b',"item_code":"\\ud800"}', _B + b',"item_code":"\\udc00x"}', _B + b',"item_code":"\\ud83d\\ude00"}',
    _B + b',"item_code":"a\tb"}', _B + b',"item_code":"a\x00b"}', _B + b',"item_code":"a\x7fb"}',
    _B + b',"item_code":"a\xffb"}', _B + b',"item_code":"a\xc0\xafb"}', _B + b',"item_code":"a\xed\xa0\x80b"}',
    _B + b',"item_code":"a\\u0000b"}', _B + b',"comment":"a\\u0001b"}', _B + b',"comment":"  x  "}',
    _B + b',"rating":2}', _B + b',"rating":"x"}', _B + b',"schema_version":true}', _B + b',"schema_version":1.0}',
    _B.replace(b'"rating":4', b'"rating":true') + b"}", _B.replace(b'"rating":4', b'"rating":4.0') + b"}",
    _B.replace(b'"rating":4', b'"rating":4e0') + b"}", _B.replace(b'"rating":4', b'"rating":04') + b"}",
    _B.replace(b'"2021-05-06T10:00:00+08:00"', b"1620266400") + b"}",
    _B.replace(b'"2021-05-06T10:00:00+08:00"', b"1620266400.5") + b"}",
    _B.replace(b'"2021-05-06T10:00:00+08:00"', b"NaN") + b"}",
    _B.replace(b'"2021-05-06T10:00:00+08:00"', b"1e400") + b"}",
    _B.replace(b"+08:00", b"Z") + b"}", _B.replace(b"+08:00", b"") + b"}",
    _B + b',"indicators":{"x":100000000000000000000000000}}', _B + b',"indicators":{"x":Infinity}}',
    _B + b',"indicators":' + b"[" * 300 + b"]" * 300 + b"}", _B + b',"indicators":{1:2}}',
    _B + b',"evaluator":null}', _B + b',"reasons":"ab"}', _B + b",'x':1}", b"{}", b"[]", b"null", b'"x"',
]


@pytest.mark.parametrize("raw", TRICKY)
def test_validating_straight_from_the_bytes_takes_what_parsing_first_took(raw):
    # Intake validates JSON bytes in pydantic-core; input it refuses is parsed to say why. Either
    # way the review (or the reason it is refused) is what orjson + model_validate gave.
    got = parse_submission(raw, source="s", key=None, partition=None, offset=None,
                           received_at=datetime(2021, 5, 6, 10, 30, tzinfo=timezone.utc))
    want = _by_parsing(raw)
    if isinstance(got, DeadLetter):
        assert got.reason == want
    else:
        assert got.model_dump_json() == want
