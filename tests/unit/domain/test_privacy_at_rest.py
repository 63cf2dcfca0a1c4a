"""Personal data never at rest in clear (issue 10 item 4): a dead letter keeps its raw bytes sealed
with a masked copy for display; phone numbers typed into free text are masked in what is stored."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

import orjson
import pytest

from haocha.adapters.sealing import DEAD_LETTERS, TERMINAL_KEYS, OtherSecretError, SealError, Sealer
from haocha.domain.intake import dead_letter, parse_submission
from haocha.domain.privacy import mask_free_text, mask_phones_in_bytes
from schemas.review import DeadLetter, ReviewSubmitted
from sinks.clickhouse import dead_letter_key, dead_letter_row, masked_event, maybe_personal

NOW = datetime(2021, 5, 6, 3, 0, tzinfo=timezone.utc)
PHONE = "13812345678"
SEALER = Sealer("test-secret", DEAD_LETTERS)
GOOD = {"review_id": "R1", "channel": "pad", "hall_id": "H-CY", "window_id": "H-CY-W01", "rating": 4,
        "happened_at": "2021-05-06T10:00:00+08:00", "terminal_id": "T1"}


def parse(raw: bytes):
    return parse_submission(raw, source="p.reviews.submitted", key=b"k", partition=1, offset=7, received_at=NOW,
                            seal=SEALER.seal)


@pytest.mark.parametrize("raw", [
    b'{"comment": "call me at 13812345678", oops',
    orjson.dumps(dict(GOOD, rating=9, comment=f"tel {PHONE}")),
    b"\xff\xfe" + PHONE.encode() + b"\x00",
])
def test_a_dead_letter_shows_a_masked_copy_and_seals_the_raw_bytes(raw):
    d = parse(raw)
    assert isinstance(d, DeadLetter)
    shown = d.raw.encode() if d.raw_encoding == "utf-8" else base64.b64decode(d.raw)
    assert PHONE.encode() not in shown and b"138****5678" in shown
    assert PHONE not in d.model_dump_json()
    assert SEALER.open(d.sealed, b"p.reviews.submitted") == raw
    with pytest.raises(SealError):
        SEALER.open(d.sealed, b"another.topic")  # bound to its source
    with pytest.raises(OtherSecretError):
        Sealer("another-secret", DEAD_LETTERS).open(d.sealed, b"p.reviews.submitted")
    with pytest.raises(OtherSecretError):
        Sealer("test-secret", TERMINAL_KEYS).open(d.sealed, b"p.reviews.submitted")  # one key per purpose


def test_detail_and_key_are_masked_too():
    d = dead_letter(b"x", source="s", reason="schema", detail=f"input_value='{PHONE}'", key=PHONE.encode(),
                    failed_at=NOW)
    assert PHONE not in d.model_dump_json() and d.sealed is None


def test_a_phone_number_in_a_comment_is_masked_on_the_way_in():
    r = parse(orjson.dumps(dict(GOOD, comment=f"请回电 {PHONE}, 或 +86 13912345678")))
    assert isinstance(r, ReviewSubmitted)
    assert r.comment == "请回电 138****5678, 或 +86 139****5678"


def test_the_store_masks_free_text_even_of_old_messages():
    # A review's row is masked by ClickHouse itself: tests/integration/test_store_ingest.py.
    letter = DeadLetter(source="s", reason="r", detail=PHONE, raw=PHONE, raw_encoding="utf-8", failed_at=NOW)
    assert PHONE not in repr(dead_letter_row(letter, 0, 1))
    assert mask_free_text({"note": f"called {PHONE}", "officer_id": "o1"}) == {"note": "called 138****5678",
                                                                            "officer_id": "o1"}
    assert mask_phones_in_bytes(b"a" + PHONE.encode() + b"0") == b"a" + PHONE.encode() + b"0"  # 12 digits: no phone


def test_ticket_event_rows_mask_the_comment_and_the_phone():
    from tests.unit.domain.test_tickets_domain import Ticket

    tk = Ticket()
    opened = tk.events[0]
    env = opened.model_copy(update={"event": opened.event.model_copy(update={"comment": f"tel {PHONE}"})})
    assert PHONE not in repr(masked_event(env.model_dump(mode="json")))
    assert maybe_personal(env.model_dump_json().encode())  # so the store masks it before storing


def test_dead_letters_are_keyed_by_their_source_message():
    d = parse(b"{oops")
    assert dead_letter_key(d, 0, 41) == dead_letter_key(d, 1, 99) == "p.reviews.submitted@1:7"
    gateway = dead_letter(b"x", source="gateway:/reviews", reason="schema", detail="", failed_at=NOW)
    assert dead_letter_key(gateway, 2, 5) == "@2:5"
