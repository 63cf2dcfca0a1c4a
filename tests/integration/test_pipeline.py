"""Reviews on the real broker become tickets and ClickHouse rows, exactly once, whatever happens.

The oracle is computed in plain Python from what the simulator generated (it labels each message
it makes: a first review, a resend, a second review of a case, a repeat press, garbage), never
from the platform's own code. ClickHouse is read after the worker stopped, since the embedded
store opens in one process at a time.
"""

from __future__ import annotations

import asyncio
import collections
import time

import orjson
import pytest

from haocha.adapters.kafka import produce_all, read_all
from apps.bootstrap import build_deps
from apps.simulate.pipeline import wait_caught_up
from apps.simulate.traffic import TrafficPlan, generate
from sinks.clickhouse import ClickHouseStore
from schemas.topics import DEAD_LETTERS, REVIEWS_SUBMITTED
from tests.conftest import KAFKA as KAFKA_UNDER_TEST

pytestmark = pytest.mark.integration


def traffic(settings, reviews: int, seed: int, **plan):
    deps = build_deps(settings)
    return list(generate(TrafficPlan(reviews=reviews, seed=seed, **plan), deps.directory, deps.calendar))


def oracle(subs) -> dict:
    firsts = [orjson.loads(s.value) for s in subs if s.kind in ("review", "late")]
    return {
        "review_ids": {s.review_id for s in subs if s.kind != "malformed"},
        "counted": len(firsts),
        "tickets": sorted(f"TK-{r['review_id']}" for r in firsts if r["rating"] <= 2),
        "malformed": sum(s.kind == "malformed" for s in subs),
        "not_counted": collections.Counter(s.kind for s in subs if s.kind in ("duplicate_case", "repeat_press")),
    }


def send(settings, subs) -> int:
    return asyncio.run(produce_all(settings, settings.topic(REVIEWS_SUBMITTED.name), [(s.key, s.value) for s in subs]))


def caught_up(settings, timeout=240.0) -> None:
    asyncio.run(wait_caught_up(settings, timeout=timeout))


def stored(settings) -> dict:
    store = ClickHouseStore(settings.dsn, settings.clickhouse_database)
    try:
        q = store.query
        return {
            "review_ids": {r[0] for r in q("SELECT review_id FROM {db}.reviews")},
            "review_rows": q("SELECT count() FROM {db}.reviews")[0][0],
            "counted": q("SELECT count() FROM {db}.reviews WHERE counted")[0][0],
            "by_class": dict(q("SELECT classification, count() FROM {db}.reviews GROUP BY classification")),
            "opened": sorted(r[0] for r in q("SELECT ticket_id FROM {db}.ticket_events WHERE type = 'TicketOpened'")),
            "event_rows": q("SELECT count() FROM {db}.ticket_events")[0][0],
            "distinct_events": q("SELECT uniqExact(ticket_id, version) FROM {db}.ticket_events")[0][0],
            "tickets": q("SELECT uniqExact(ticket_id) FROM {db}.tickets")[0][0],
            "dead_letters": q("SELECT count() FROM {db}.dead_letters")[0][0],
        }
    finally:
        store.close()


def assert_exact(got: dict, want: dict, sends: int = 1) -> None:
    assert got["review_ids"] == want["review_ids"]
    assert got["review_rows"] == len(want["review_ids"]), "a review was written twice"
    assert got["counted"] == want["counted"]
    assert got["opened"] == want["tickets"], "tickets differ from the counted bad reviews"
    assert got["event_rows"] == got["distinct_events"], "a ticket event was written twice"
    assert got["tickets"] == len(want["tickets"])
    # Every malformed message received is kept, each time it is received.
    assert got["dead_letters"] == want["malformed"] * sends
    for kind, n in want["not_counted"].items():
        assert got["by_class"].get(kind, 0) == n


def test_reviews_become_exactly_the_expected_tickets_and_rows(make_settings, start_worker):
    s = make_settings()
    subs = traffic(s, 1500, seed=11, malformed_share=0.01, resend_share=0.03, duplicate_case_share=0.02,
                   repeat_press_share=0.05)
    want = oracle(subs)
    assert want["tickets"] and want["malformed"] and all(want["not_counted"].values())
    w = start_worker(s).wait_ready()
    send(s, subs)
    caught_up(s)
    # Replaying the whole input (a producer that resent everything) adds nothing.
    send(s, subs)
    caught_up(s)
    assert w.proc.poll() is None, "the worker died on bad input"
    w.terminate()
    assert_exact(stored(s), want, sends=2)
    # The working-day calendar says at start when this or next year's holidays are unknown.
    from datetime import datetime

    from haocha.adapters.calendar_cn import ChineseWorkingCalendar

    calendar = ChineseWorkingCalendar(s.calendar_overrides)
    for warning in calendar.coverage_warnings(datetime.now(calendar.tz).date()):
        assert warning in w.logs()


def test_malformed_input_goes_to_the_dead_letter_topic_with_its_reason(make_settings, start_worker):
    s = make_settings()
    garbage = [(b"k1", b"{not json"), (b"k2", orjson.dumps({"review_id": "x", "rating": 9})), (None, b"\xff\x00")]
    good = traffic(s, 5, seed=3, malformed_share=0, resend_share=0, duplicate_case_share=0, repeat_press_share=0)
    w = start_worker(s).wait_ready()
    asyncio.run(produce_all(s, s.topic(REVIEWS_SUBMITTED.name), garbage + [(x.key, x.value) for x in good]))
    caught_up(s)
    letters = [orjson.loads(m.value) for m in asyncio.run(read_all(s, s.topic(DEAD_LETTERS.name)))]
    by_raw = {d["raw"]: d for d in letters}
    assert by_raw["{not json"]["reason"] == "not_json"
    schema = by_raw['{"review_id":"x","rating":9}']
    assert schema["reason"] == "schema" and "rating" in schema["detail"]
    binary = [d for d in letters if d["raw_encoding"] == "base64"]
    assert len(binary) == 1 and binary[0]["reason"] == "not_json"
    assert all(d["source"] == s.topic(REVIEWS_SUBMITTED.name) for d in letters)
    assert w.proc.poll() is None
    w.terminate()
    got = stored(s)
    assert got["review_rows"] == 5 and got["dead_letters"] == 3


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["kill", "terminate"])
def test_worker_stopped_mid_stream_loses_and_doubles_nothing(make_settings, start_worker, stop):
    """SIGKILL is a crash (nothing flushed); SIGTERM is a deploy (a batch may be half done)."""
    s = make_settings()
    subs = traffic(s, 6000, seed=29)
    want = oracle(subs)
    w = start_worker(s).wait_ready()
    send(s, subs)
    # Kill it while it is busy: after some, not all, reviews reached ClickHouse's sink.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        from haocha.adapters.kafka import group_lag

        lag = asyncio.run(group_lag(s, s.review_group, [s.topic(REVIEWS_SUBMITTED.name)]))
        if sum(lag.values()) < len(subs) * 0.7:
            break
        time.sleep(0.2)
    code = getattr(w, stop)()
    if stop == "kill":
        assert code == -9
    w.start().wait_ready()
    caught_up(s)
    w.kill()  # a second crash, this time when idle, must not matter either
    w.start().wait_ready()
    caught_up(s)
    w.terminate()
    assert_exact(stored(s), want)


@pytest.mark.slow
def test_a_broker_bounce_mid_stream_loses_and_doubles_nothing(make_settings, start_worker):
    """The broker restarts while the worker is busy: the worker rides it out, counts stay exact."""
    import os
    import subprocess
    from pathlib import Path

    port = os.environ.get("HAOCHA_KAFKA_PORT")
    if not port or not KAFKA_UNDER_TEST.endswith(f":{port}"):
        pytest.skip("needs the broker of deploy/kafka.sh under test (HAOCHA_KAFKA_PORT etc., as `make test` sets)")
    s = make_settings()
    subs = traffic(s, 4000, seed=31)
    want = oracle(subs)
    w = start_worker(s).wait_ready()
    send(s, subs)
    time.sleep(1.5)  # busy now
    script = Path(__file__).resolve().parents[2] / "deploy" / "kafka.sh"
    subprocess.run(["bash", str(script), "restart"], check=True, timeout=180)
    caught_up(s, timeout=300)
    assert w.proc.poll() is None, "the worker did not survive the broker bounce:\n" + w.logs()[-3000:]
    w.terminate()
    assert_exact(stored(s), want)
