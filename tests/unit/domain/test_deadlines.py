"""Working-time deadline arithmetic (pure; the adapter is only used for real 2021 data)."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haocha.domain.calendar import SHANGHAI, FixedCalendar
from haocha.domain.deadlines import (
    DeadlinePolicy,
    due_after,
    elapsed_fraction,
    working_days_between,
    working_seconds_between,
)
from tests.support.times import CN, sh

# Labour Day 2021: 1–5 May off; Sun 25 Apr and Sat 8 May are makeup workdays.
LABOUR_DAY_2021 = FixedCalendar(
    holidays={date(2021, 5, d) for d in range(1, 6)},
    workdays={date(2021, 4, 25), date(2021, 5, 8)},
)
PLAIN = FixedCalendar(set(), set())
UTC = timezone.utc


# --- due_after -------------------------------------------------------------------


@pytest.mark.parametrize("cal", [LABOUR_DAY_2021, CN], ids=["fixed", "chinesecalendar"])
@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Fri 17:00 + 1 day: 7 h on Fri 30 Apr, 17 h on Thu 6 May.
        (sh(2021, 4, 30, 17), 1, sh(2021, 5, 6, 17)),
        # Start on a holiday: clock starts Thu 6 May 00:00.
        (sh(2021, 5, 1, 10), 1, sh(2021, 5, 7, 0)),
        # Thu 6 May 09:00 + 5: Fri 7, Sat 8 (makeup), [Sun 9 off], Mon 10, Tue 11, Wed 12.
        (sh(2021, 5, 6, 9), 5, sh(2021, 5, 12, 9)),
        # Sat 24 Apr is off, Sun 25 Apr (makeup) starts the clock.
        (sh(2021, 4, 24, 12), 1, sh(2021, 4, 26, 0)),
        # Fri 23 Apr 12:00 + 1: Sat 24 off, Sun 25 is a working day.
        (sh(2021, 4, 23, 12), 1, sh(2021, 4, 25, 12)),
        # Half a working day from Fri 30 Apr 20:00: 4 h Fri + 8 h Thu.
        (sh(2021, 4, 30, 20), 0.5, sh(2021, 5, 6, 8)),
        # Zero days from a holiday is the start of the clock.
        (sh(2021, 5, 3, 10), 0, sh(2021, 5, 6, 0)),
        (sh(2021, 5, 6, 10), 0, sh(2021, 5, 6, 10)),
    ],
)
def test_due_after_labour_day_2021(cal, start, days, expected):
    assert due_after(start, days, cal) == expected


def test_due_after_plain_weekend():
    assert due_after(sh(2024, 3, 8, 17), 1, PLAIN) == sh(2024, 3, 11, 17)  # Fri -> Mon
    assert due_after(sh(2024, 3, 9, 9), 1, PLAIN) == sh(2024, 3, 12, 0)  # Sat -> Tue 00:00
    assert due_after(sh(2024, 3, 8, 0), 1, PLAIN) == sh(2024, 3, 9, 0)  # end of Fri, not Mon


def test_due_after_is_instant_based_and_keeps_start_tz():
    start_utc = datetime(2021, 4, 30, 9, tzinfo=UTC)  # = 17:00 in Shanghai
    due = due_after(start_utc, 1, LABOUR_DAY_2021)
    assert due == sh(2021, 5, 6, 17)
    assert due.tzinfo is UTC
    # 23:30 UTC Fri 30 Apr is already Sat 1 May (a holiday) in Shanghai.
    assert due_after(datetime(2021, 4, 30, 23, 30, tzinfo=UTC), 1, LABOUR_DAY_2021) == sh(2021, 5, 7, 0)


def test_due_after_other_local_tz():
    # The day boundaries follow the tz argument, not Shanghai.
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2024, 3, 8, 17, tzinfo=berlin)
    assert due_after(start, 1, PLAIN, tz=berlin) == datetime(2024, 3, 11, 17, tzinfo=berlin)


def test_due_after_rejects_bad_input():
    with pytest.raises(ValueError):
        due_after(datetime(2021, 5, 6, 9), 1, PLAIN)  # naive
    with pytest.raises(ValueError):
        due_after(sh(2021, 5, 6, 9), -1, PLAIN)
    with pytest.raises(ValueError):
        due_after(sh(2021, 5, 6, 9), float("nan"), PLAIN)


def test_due_after_never_working_calendar_fails_loudly():
    class Never:
        def is_working_day(self, day):
            return False

    with pytest.raises(ValueError, match="no working day"):
        due_after(sh(2021, 5, 6, 9), 1, Never())


# --- working time between ------------------------------------------------------------


def test_working_seconds_between_over_labour_day():
    # Fri 30 Apr 17:00 -> Thu 6 May 17:00 is exactly one working day.
    assert working_seconds_between(sh(2021, 4, 30, 17), sh(2021, 5, 6, 17), LABOUR_DAY_2021) == 86_400
    assert working_days_between(sh(2021, 4, 30, 17), sh(2021, 5, 6, 17), LABOUR_DAY_2021) == 1.0
    # Entirely inside the holiday: nothing.
    assert working_seconds_between(sh(2021, 5, 1, 0), sh(2021, 5, 6, 0), LABOUR_DAY_2021) == 0
    # Reverse / empty intervals.
    assert working_seconds_between(sh(2021, 5, 7), sh(2021, 5, 6), LABOUR_DAY_2021) == 0
    assert working_seconds_between(sh(2021, 5, 6), sh(2021, 5, 6), LABOUR_DAY_2021) == 0


def test_working_days_between_counts_makeup_saturday():
    # Thu 6 May 00:00 -> Mon 10 May 00:00: Thu, Fri, Sat 8 (makeup) = 3 days.
    assert working_days_between(sh(2021, 5, 6), sh(2021, 5, 10), LABOUR_DAY_2021) == 3.0
    assert working_days_between(sh(2021, 5, 6), sh(2021, 5, 10), PLAIN) == 2.0


# --- elapsed fraction and thresholds -------------------------------------------------

START = sh(2021, 4, 30, 17)  # Fri, 5-day resolve deadline spans Labour Day
DUE = due_after(START, 5, LABOUR_DAY_2021)


def test_five_day_due_over_labour_day():
    # 7 h Fri 30, then Thu 6, Fri 7, Sat 8, Mon 10 full days, 17 h Tue 11.
    assert DUE == sh(2021, 5, 11, 17)


@pytest.mark.parametrize(
    ("now", "fraction", "crossed"),
    [
        (sh(2021, 4, 30, 12), 0.0, []),  # before start
        (START, 0.0, []),
        (sh(2021, 5, 3, 12), 7 / 120, []),  # holiday: clock frozen after Fri's 7 h
        (sh(2021, 5, 8, 5), 0.5, [50]),  # 7 + 24 + 24 + 5 = 60 h of 120
        (sh(2021, 5, 9, 12), 79 / 120, [50]),  # Sunday: frozen at 7 + 3 x 24 = 79 h
        (sh(2021, 5, 10, 17), 0.8, [50, 80]),  # 7 + 72 + 17 = 96 h
        (DUE, 1.0, [50, 80, 100]),
        (sh(2021, 5, 12, 5), 1.1, [50, 80, 100]),  # overdue by 12 h
    ],
)
def test_fraction_and_thresholds(now, fraction, crossed):
    assert elapsed_fraction(START, DUE, now, LABOUR_DAY_2021) == pytest.approx(fraction)
    assert DeadlinePolicy().thresholds_crossed(START, DUE, now, LABOUR_DAY_2021) == crossed


def test_thresholds_are_exact_at_the_boundary():
    policy = DeadlinePolicy()
    just_before = sh(2021, 5, 10, 17) - timedelta(microseconds=1)
    assert policy.thresholds_crossed(START, DUE, just_before, LABOUR_DAY_2021) == [50]
    assert policy.thresholds_crossed(START, DUE, DUE - timedelta(microseconds=1), LABOUR_DAY_2021) == [50, 80]


def test_escalation_when_due_falls_before_holiday_and_now_is_during_it():
    # Due at end of Fri 30 Apr (Sat 00:00); during the holiday no working time passes
    # but the deadline has passed: exactly 1.0 -> escalation.
    start, due = sh(2021, 4, 30, 0), sh(2021, 5, 1, 0)
    assert due_after(start, 1, LABOUR_DAY_2021) == due
    assert elapsed_fraction(start, due, sh(2021, 5, 3), LABOUR_DAY_2021) == 1.0
    assert 100 in DeadlinePolicy().thresholds_crossed(start, due, sh(2021, 5, 3), LABOUR_DAY_2021)


def test_zero_budget_deadlines():
    start = sh(2021, 5, 6, 9)
    assert elapsed_fraction(start, start - timedelta(hours=1), start + timedelta(seconds=1), PLAIN) == 1.0
    assert elapsed_fraction(start, start, start, PLAIN) == 0.0  # now <= start
    # Budget entirely inside the holiday: 0 before due, 1 from due on.
    s, d = sh(2021, 5, 2), sh(2021, 5, 4)
    assert elapsed_fraction(s, d, sh(2021, 5, 3), LABOUR_DAY_2021) == 0.0
    assert elapsed_fraction(s, d, d, LABOUR_DAY_2021) == 1.0


def test_policy_defaults_and_due_helpers():
    policy = DeadlinePolicy()
    assert (policy.contact_working_days, policy.resolve_working_days, policy.warn_percents) == (1, 5, (50, 80))
    assert policy.contact_due(START, LABOUR_DAY_2021) == sh(2021, 5, 6, 17)
    assert policy.resolve_due(START, LABOUR_DAY_2021) == DUE
    with pytest.raises(ValueError):
        DeadlinePolicy(warn_percents=(50, 120))
    with pytest.raises(ValueError):
        DeadlinePolicy(resolve_working_days=-1)


def test_fraction_requires_aware_datetimes():
    with pytest.raises(ValueError):
        elapsed_fraction(START, DUE, datetime(2021, 5, 7), LABOUR_DAY_2021)


# --- properties --------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2026, 11, 30), timezones=st.just(SHANGHAI)
) | st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 11, 30), timezones=st.just(UTC))
budgets = st.one_of(st.integers(1, 30), st.floats(0.01, 30, allow_nan=False, allow_infinity=False))


@settings(max_examples=300, deadline=None)
@given(start=starts, n=budgets)
def test_due_after_consumes_exactly_the_budget(start, n):
    due = due_after(start, n, CN)
    assert due > start
    assert elapsed_fraction(start, due, due, CN) == pytest.approx(1.0)
    assert working_days_between(start, due, CN) == pytest.approx(n, abs=1e-9)
    assert DeadlinePolicy().thresholds_crossed(start, due, due, CN) == [50, 80, 100]


@settings(max_examples=300, deadline=None)
@given(start=starts, n1=budgets, n2=budgets)
def test_due_after_is_monotonic_in_budget(start, n1, n2):
    lo, hi = sorted((n1, n2))
    assert due_after(start, lo, CN) <= due_after(start, hi, CN)
