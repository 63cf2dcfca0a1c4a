"""The store's staged writes (sinks/staging.py) on the embedded engine: ClickHouse maps a topic's
JSON to the very rows the models say, masks as haocha.domain.privacy does, stores the first copy
of a key once, and a replay stores nothing."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import orjson
import pytest

from haocha.domain.privacy import mask_phone, mask_phones_in_text
from schemas.review import RATING_SCORES, DeadLetter, ReviewClassified, ReviewSubmitted
from sinks import mask_sql, staging
from sinks.clickhouse import ClickHouseStore

pytestmark = pytest.mark.integration

BASE = {
    "review_id": "R-1", "channel": "pad", "hall_id": "H-CY", "window_id": "H-CY-W01", "rating": 2,
    "happened_at": "2021-05-06T10:00:00+08:00", "terminal_id": "T-1",
}
PHONE = "13812345678"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = ClickHouseStore(f"chdb://{tmp_path_factory.mktemp('chdb')}", "haocha_ingest")
    s.migrate()
    yield s
    s.close()


def expected_row(c: ReviewClassified) -> list:
    """What a review's row holds, from the model (the mapping the store's SQL implements)."""
    r = c.review
    classified = c.classified_at.replace(microsecond=c.classified_at.microsecond // 1000 * 1000)  # DateTime64(3)
    return [
        r.review_id, r.case_no, r.channel.value, r.hall_id, r.window_id, c.department_id, r.staff_id,
        r.item_code, mask_phones_in_text(r.item_name), r.rating, RATING_SCORES[r.rating], list(r.reasons),
        mask_phones_in_text(r.comment), r.is_real_name, mask_phone(r.evaluator.phone), r.happened_at,
        r.received_at or classified, classified,
        r.terminal_id, r.follow_up_of, c.classification.value, c.counted, c.ticket_id, c.note,
    ]


def stored(store, review_id: str) -> list:
    (row,) = store.query(f"SELECT {', '.join(staging.REVIEWS.columns)} FROM {{db}}.reviews WHERE review_id = %(id)s",
                         {"id": review_id})
    return list(row)


@pytest.mark.parametrize("extra", [
    {},
    {"case_no": "C-1", "staff_id": "S-1", "item_code": "X1", "item_name": f"事项 {PHONE}", "reasons": ["效率低"],
     "comment": f"等了很久, 请回电 {PHONE}", "evaluator": {"real_name": True, "phone": "13800001234"},
     "received_at": "2021-05-06T02:00:01Z", "follow_up_of": "R-0"},
    {"evaluator": {"phone": "+8613800001234"}, "rating": 5},
    {"evaluator": {"real_name": True}},
])
@pytest.mark.parametrize("ticket_id, note", [(None, ""), ("TK-1", "repeat")])
def test_a_reviews_json_becomes_the_row_the_model_says(store, extra, ticket_id, note):
    rid = f"R-{abs(hash((repr(extra), ticket_id))) % 10**9}"
    review = ReviewSubmitted.model_validate({**BASE, **extra, "review_id": rid})
    c = ReviewClassified(review=review, classification="counted", counted=True, department_id="D-1",
                         ticket_id=ticket_id, note=note,
                         classified_at=datetime(2021, 5, 6, 2, 0, 2, 123456, tzinfo=timezone.utc))
    assert store.write_reviews([c.model_dump_json().encode()]) == 1
    assert stored(store, rid) == expected_row(c)
    assert PHONE not in repr(stored(store, rid))


def test_the_first_copy_of_a_key_is_stored_once_and_a_replay_stores_nothing(store):
    def review(rid: str, note: str) -> bytes:
        return orjson.dumps({"review": dict(BASE, review_id=rid), "classification": "counted", "counted": True,
                             "department_id": "D-1", "classified_at": "2021-05-06T02:00:02Z", "note": note})

    batch = [review("RD-1", "first"), review("RD-2", "first"), review("RD-1", "second"), review("RD-3", "first")]
    assert store.write_reviews(batch) == 3
    assert store.write_reviews([review("RD-2", "later"), review("RD-4", "first")]) == 1
    assert store.write_reviews(batch) == 0
    rows = store.query("SELECT review_id, note FROM {db}.reviews WHERE review_id LIKE 'RD-%' ORDER BY review_id")
    assert rows == [("RD-1", "first"), ("RD-2", "first"), ("RD-3", "first"), ("RD-4", "first")]


def test_dead_letters_are_keyed_by_their_source_and_masked(store):
    at = datetime(2021, 5, 6, 3, 0, tzinfo=timezone.utc)
    letter = DeadLetter(source="p.reviews.submitted", reason="schema", detail=PHONE, raw=f"x {PHONE}",
                        raw_encoding="utf-8", partition=1, offset=7, failed_at=at)
    assert store.write_dead_letters([(letter, 0, 10), (letter, 0, 11)]) == 1  # the same input twice
    assert store.write_dead_letters([(letter, 0, 12)]) == 0
    rows = store.query("SELECT source_key, detail, raw, dl_offset FROM {db}.dead_letters")
    assert rows == [("p.reviews.submitted@1:7", "138****5678", "x 138****5678", 10)]


def _texts(rnd: random.Random, n: int) -> list[str | None]:
    alphabet = list("0123456789" * 3) + ["+86", "86", "86-", "86 ", "+", "-", " ", "a", "好", "１", "٣", "\n", "*"]
    out: list[str | None] = [None, "", PHONE, f"{PHONE},13912345678", f"{PHONE} 8613912345678", f"+86{PHONE}",
                             "5868613812345678", f"{PHONE}9", f"a{PHONE}b", f"{PHONE}+8613912345678"]
    for _ in range(n):
        s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        for _ in range(rnd.randint(0, 3)):
            at = rnd.randint(0, len(s))
            number = "1" + rnd.choice("3456789") + "".join(rnd.choice("0123456789１٣") for _ in range(9))
            s = s[:at] + rnd.choice(["", "86", "+86", "86 ", "+86-", ",", "x"]) + number + \
                rnd.choice(["", "0", ",", "1", "x", " "]) + s[at:]
        out.append(s)
    return out


def test_the_sql_masking_is_the_python_masking(store):
    rnd = random.Random(12)
    texts = _texts(rnd, 5000)
    phones = [None, "", "+", "++1", "12", "1234567", "12345678", "13800001234", "+8613800001234", "１２３４５６７８"] + \
        ["".join(rnd.choice("0123456789+") for _ in range(rnd.randint(0, 22))) for _ in range(2000)]
    for values, sql, python in ((texts, mask_sql.mask_phones_in_text, mask_phones_in_text),
                                (phones, lambda e: mask_sql.mask_phone(e, '_p'), mask_phone)):
        got = [r[1] for r in store.query(
            f"SELECT n, {sql('s')} FROM (SELECT arrayJoin(arrayZip(range(length(v)), v)) AS p, p.1 AS n, p.2 AS s "
            "FROM (SELECT CAST(%(v)s, 'Array(Nullable(String))') AS v)) ORDER BY n", {"v": values})]
        want = [python(v) for v in values]
        assert sum(a != b for a, b in zip(got, want)) == 0, [(v, a, b) for v, a, b in zip(values, got, want) if a != b][:5]
        assert sum(w != v for v, w in zip(values, want)) > len(values) // 5  # the cases do mask


def test_ticket_events_are_stored_as_the_topic_holds_them_personal_data_masked(store):
    from apps.report.sample import generate
    from haocha.adapters.calendar_cn import ChineseWorkingCalendar
    from haocha.domain.directory import Directory
    from haocha.settings import PACKAGE_DATA
    from sinks.clickhouse import masked_event

    sample = generate(Directory.load(PACKAGE_DATA / "directory.json"), ChineseWorkingCalendar(), n=200, seed=3)
    envs = sample.all_events
    first = envs[0]
    envs[0] = first.model_copy(update={"event": first.event.model_copy(update={"comment": f"tel {PHONE}"})})
    assert store.write_ticket_events([e.model_dump_json().encode() for e in envs]) == len(envs)
    assert store.write_ticket_events(envs[::3]) == 0
    rows = dict(store.query("SELECT event_id, payload FROM {db}.ticket_events"))
    for e in envs:
        assert orjson.loads(rows[e.event_id]) == masked_event(e.model_dump(mode="json"))["event"]
    assert PHONE not in repr(rows) and any('"phone":"138****' in p for p in rows.values())
