"""The metric definitions: components add up, ratios are taken last, the SQL twin agrees."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.domain.deadlines import working_days_between
from haocha.domain.metrics import METRICS, Components, WorkingClock, closed_at_time, format_value, metric_values, ratio
from sinks.rollups import rollup_schema_sql

SH = ZoneInfo("Asia/Shanghai")


def test_ratios_and_empty_denominators():
    c = Components(reviews=10, good=6, bad=3, score_sum=700, real_name_bad=2, closed=2, closed_on_time=1,
                   contacted=1, days_to_close_sum=5.0)
    v = metric_values(c)
    assert v == {"reviews": 10, "good_rate": 0.6, "bad_count": 3, "bad_rate": 0.3, "satisfaction": 70.0,
                 "closed": 2, "rectification_rate": 2 / 3, "on_time_rate": 0.5, "return_visit_rate": 0.5,
                 "mean_days_to_close": 2.5}
    empty = metric_values(Components())
    assert empty["good_rate"] is None and empty["rectification_rate"] is None and empty["reviews"] == 0
    assert ratio(1, 0) is None


def test_components_add_then_divide():
    a = Components(reviews=1, bad=1, closed=1)
    b = Components(reviews=3, bad=1, closed=0)
    assert metric_values(a + b)["rectification_rate"] == 0.5  # not the mean of 100% and 0%
    assert Components.total([a, b]) == a + b


def test_closed_at_time_follows_the_latest_close_or_reopen():
    assert closed_at_time([(1, "TicketOpened"), (5, "TicketClosed")])
    assert not closed_at_time([(1, "TicketOpened"), (5, "TicketClosed"), (6, "TicketReopened")])
    assert closed_at_time([(9, "TicketClosed"), (6, "TicketReopened"), (5, "TicketClosed"), (10, "PhoneViewed")])
    assert not closed_at_time([(1, "TicketOpened")])


def test_format():
    by = {m.key: m for m in METRICS}
    assert format_value(by["good_rate"], 0.1234) == "12.3%"
    assert format_value(by["satisfaction"], 71) == "71.00"
    assert format_value(by["reviews"], 3) == "3"
    assert format_value(by["on_time_rate"], None) == "—"


@pytest.mark.parametrize("a,b", [
    (datetime(2021, 4, 30, 17, 0, tzinfo=SH), datetime(2021, 5, 6, 17, 0, tzinfo=SH)),  # across Labour Day
    (datetime(2021, 5, 1, 10, 0, tzinfo=SH), datetime(2021, 5, 8, 12, 0, tzinfo=SH)),  # into a makeup Saturday
    (datetime(2021, 4, 25, 9, 0, tzinfo=SH), datetime(2021, 4, 25, 18, 30, tzinfo=SH)),  # a makeup Sunday
    (datetime(2021, 5, 12, 9, 0, tzinfo=SH), datetime(2021, 5, 10, 9, 0, tzinfo=SH)),  # reversed: 0
])
def test_working_clock_equals_working_days_between(a, b):
    cal = ChineseWorkingCalendar()
    clock = WorkingClock.build(cal, date(2021, 4, 1), date(2021, 6, 1))
    assert max(0.0, clock.at(b) - clock.at(a)) == pytest.approx(working_days_between(a, b, cal), abs=1e-9)


def test_rollup_schema_uses_the_metric_sql():
    sql = rollup_schema_sql()
    assert "review_rollups_mv" in sql
    for g in ("hour", "day", "week", "month"):
        assert f"('{g}', " in sql
    assert "countIf(rating IN (1, 2)) AS bad" in sql and "WHERE counted" in sql
