"""`due_after` answers from its per-calendar day table exactly what walking the calendar day by
day answers (the definition, kept here as the reference)."""

import random
from datetime import date, datetime, time, timedelta, timezone

from haocha.domain.calendar import SHANGHAI, FixedCalendar
from haocha.domain.deadlines import due_after

_ONE_DAY = timedelta(days=1)


def walked(start, working_days, cal, tz=SHANGHAI):
    remaining = timedelta(days=working_days)
    local = start.astimezone(tz).replace(tzinfo=None)
    day = local.date()
    if cal.is_working_day(day):
        pos = local
    else:
        day += _ONE_DAY
        while not cal.is_working_day(day):
            day += _ONE_DAY
        pos = datetime.combine(day, time())
    while True:
        available = datetime.combine(day + _ONE_DAY, time()) - pos
        if remaining <= available:
            return (pos + remaining).replace(tzinfo=tz).astimezone(start.tzinfo)
        remaining -= available
        day += _ONE_DAY
        while not cal.is_working_day(day):
            day += _ONE_DAY
        pos = datetime.combine(day, time())


def test_due_after_is_the_day_by_day_walk():
    rng = random.Random(12)
    first = date(2021, 1, 1)
    days = [first + timedelta(days=i) for i in range(400)]
    cals = [FixedCalendar(), FixedCalendar(holidays=rng.sample(days[:200], 40), workdays=[]),
            FixedCalendar(holidays=days[30:45], workdays=[d for d in days[10:90] if d.weekday() == 5 and d not in days[30:45]])]
    zones = [SHANGHAI, timezone.utc, timezone(timedelta(hours=-5))]
    for _ in range(3000):
        cal = rng.choice(cals)
        start = datetime.combine(rng.choice(days[:300]), time(), SHANGHAI) + timedelta(
            seconds=rng.choice([0, 1, 86399, 86400 - 0.000001, rng.randrange(86400), rng.random() * 86400]))
        start = start.astimezone(rng.choice(zones))
        n = rng.choice([0, 1, 2, 5, 0.5, 1.25, 3.999999, 10, rng.random() * 7])
        got = due_after(start, n, cal)
        assert got == walked(start, n, cal) and got.tzinfo is start.tzinfo, (start, n)


def walked_seconds(a, b, cal, tz=SHANGHAI):
    """Working time from a to b, day by day (the definition)."""
    if b <= a:
        return 0.0
    la, lb = a.astimezone(tz).replace(tzinfo=None), b.astimezone(tz).replace(tzinfo=None)
    total, day = timedelta(0), la.date()
    while day <= lb.date():
        if cal.is_working_day(day):
            lo, hi = max(la, datetime.combine(day, time())), min(lb, datetime.combine(day + _ONE_DAY, time()))
            if hi > lo:
                total += hi - lo
        day += _ONE_DAY
    return total.total_seconds()


def test_working_time_between_is_the_day_by_day_walk_over_days_and_years():
    from haocha.domain.deadlines import working_seconds_between

    rng = random.Random(7)
    first = date(2020, 12, 1)
    days = [first + timedelta(days=i) for i in range(1200)]  # across three year ends, a leap year
    cals = [FixedCalendar(), FixedCalendar(holidays=rng.sample(days, 300), workdays=[]),
            FixedCalendar(holidays=days[25:50], workdays=[d for d in days[20:400] if d.weekday() == 6 and d not in days[25:50]])]
    zones = [SHANGHAI, timezone.utc, timezone(timedelta(hours=-5))]
    for _ in range(3000):
        cal = rng.choice(cals)
        a = datetime.combine(rng.choice(days[:900]), time(), SHANGHAI) + timedelta(seconds=rng.random() * 86400)
        span = rng.choice([0, 1, 3600, 86399, 86400, rng.random() * 86400 * 3, rng.random() * 86400 * 300])
        b = a + timedelta(seconds=rng.choice([span, -span]))
        a, b = a.astimezone(rng.choice(zones)), b.astimezone(rng.choice(zones))
        assert working_seconds_between(a, b, cal) == walked_seconds(a, b, cal), (a, b)
