from datetime import datetime, timedelta, timezone

from haocha.domain.alerts import SpikeRule, observe, windows_of

RULE = SpikeRule()
T = datetime(2021, 5, 6, 2, 7, tzinfo=timezone.utc)


def test_a_review_falls_in_three_hopping_windows_of_fifteen_minutes():
    ws = windows_of(T, RULE)
    assert len(ws) == 3
    assert all(s <= T < e and e - s == timedelta(minutes=15) for s, e in ws)
    assert [s.minute for s, _ in ws] == [55, 0, 5]


def test_half_bad_with_four_reviews_raises_once_and_replays_add_nothing():
    c, raised = None, []
    for i, bad in enumerate([True, False, True, False, True, True]):
        c, spike = observe(c, f"r{i}", bad, RULE)
        raised.append(spike)
    assert raised == [False, False, False, True, False, False]
    again, spike = observe(c, "r3", False, RULE)
    assert not spike and again["reviews"] == 6 and again["bad"] == 4


def test_mostly_good_windows_do_not_alert():
    c = None
    for i in range(10):
        c, spike = observe(c, f"r{i}", i == 0, RULE)
        assert not spike
