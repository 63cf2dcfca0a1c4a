"""The review hop's pre-serialised output is byte for byte what the models would dump."""

from datetime import datetime, timedelta, timezone

from aiokafka.partitioner import DefaultPartitioner

from haocha.domain.alerts import SpikeRule, windows_of
from haocha.domain.reviews import Verdict
from schemas.review import Classification, ReviewClassified, ReviewSubmitted
from haocha.adapters.kafka import partition_for
from streams.review_hop import _DATETIME, ReviewHop, classified_json

AT = datetime(2021, 5, 6, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def test_classified_json_is_the_models_json():
    reviews = [
        ReviewSubmitted(review_id="a", channel="pad", hall_id="H", window_id="W", rating=1, happened_at=AT,
                        terminal_id="T", reasons=["态度差"], comment="慢 \"quoted\"", case_no="C1"),
        ReviewSubmitted(review_id="b", channel="app", hall_id="H", window_id="W", rating=5, happened_at=AT,
                        received_at=AT + timedelta(seconds=3), terminal_id="T", evaluator={"phone": "13800000000"}),
    ]
    now = datetime.now(timezone.utc)
    for review, verdict, ticket in [
        (reviews[0], Verdict(Classification.COUNTED), "TK-a"),
        (reviews[1], Verdict(Classification.REPEAT_PRESS, "repeat of x"), None),
    ]:
        want = ReviewClassified(review=review, classification=verdict.classification, counted=verdict.counted,
                                department_id="D-1", ticket_id=ticket, note=verdict.note, classified_at=now)
        assert classified_json(review.model_dump_json().encode(), verdict, "D-1", ticket, _DATETIME.dump_json(now)) == want.model_dump_json().encode()


def test_partitions_are_the_producers_default_partitioner():
    # The gateway and the API send with aiokafka's default partitioner; the hop must agree with it
    # on where a hall's and a ticket's records live.
    default = DefaultPartitioner()
    for n in (1, 2, 4, 12):
        keys = [f"H-{i}".encode() for i in range(200)] + [f"TK-R2021-{i:07d}".encode() for i in range(200)]
        assert [partition_for(k, n) for k in keys] == [default(k, list(range(n)), list(range(n))) for k in keys]


def test_the_hops_window_cache_gives_the_domains_windows():
    hop = ReviewHop.__new__(ReviewHop)  # only the window cache, no Kafka
    hop.spike, hop._cacheable, hop._window_cache = SpikeRule(), True, {}
    hop._step = hop.spike.step.total_seconds()
    for seconds in [0, 1, 299, 300, 301, 899.5, 900, 3600 * 7 + 17, 86400 * 3 - 1]:
        at = AT + timedelta(seconds=seconds)
        for _ in range(2):  # computed, then cached
            assert [(a, b) for a, b, _ in hop._windows(at)] == windows_of(at, hop.spike)
            assert [k for _, _, k in hop._windows(at)] == [a.isoformat() for a, _ in windows_of(at, hop.spike)]
