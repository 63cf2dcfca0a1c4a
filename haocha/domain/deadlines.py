"""Deadline arithmetic in *working time* (pure domain, no I/O).

Semantics
---------
Working time is a clock that runs only on working days: every working day
contributes its whole local day, 00:00 to 24:00 in ``tz`` (default
Asia/Shanghai), and non-working days contribute nothing.  "N working days" is
therefore N x 24 h of that clock, so a review filed Friday 17:00 with a
1-working-day deadline is due at 17:00 on the next working day.

Why whole days rather than office hours: the 好差评 rules speak of working
days, not hours, and a reviewer filing at 22:00 should get the same
"same time next working day" answer as one filing at 10:00.

All inputs must be timezone-aware; comparisons are between instants.  The
arithmetic itself is done on local wall-clock time in ``tz`` (so in a zone
with DST a working day is still 24 wall-clock hours); Asia/Shanghai has no
DST, so there wall-clock and elapsed time coincide.

Both directions answer from per-calendar tables built once per year asked
(``is_working_day`` once per day of it): a deadline or an elapsed time costs
the same whether it spans a day or years.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from haocha.domain.calendar import SHANGHAI, WorkingCalendar

__all__ = [
    "ESCALATION_PERCENT",
    "DeadlinePolicy",
    "due_after",
    "elapsed_fraction",
    "working_days_between",
    "working_seconds_between",
]

ESCALATION_PERCENT = 100
SECONDS_PER_WORKING_DAY = 86_400

_ONE_DAY = timedelta(days=1)
_ONE_US = timedelta(microseconds=1)
# A calendar with no working day for ten years is a broken calendar (or a
# broken override file); fail loudly instead of looping forever.
_MAX_IDLE_DAYS = 3660


def due_after(
    start: datetime,
    working_days: int | float,
    cal: WorkingCalendar,
    tz: tzinfo = SHANGHAI,
) -> datetime:
    """Earliest instant at which ``working_days`` x 24 h of working time have
    elapsed since ``start``.  Returned in ``start``'s time zone.

    If ``start`` is on a non-working day the clock starts at 00:00 of the next
    working day (so 0 working days from a holiday is that midnight).  A deadline
    ending exactly at the end of a working day is reported as the following
    local midnight, even if that next day is a holiday.

    Examples (Labour Day 2021: 1–5 May off; Sun 25 Apr and Sat 8 May worked):

    * Fri 2021-04-30 17:00+08:00, 1 day  -> Thu 2021-05-06 17:00+08:00
      (7 h on Fri, then 17 h on Thu 6 May).
    * Sat 2021-05-01 10:00+08:00, 1 day  -> Fri 2021-05-07 00:00+08:00
      (clock starts Thu 6 May 00:00).
    * Thu 2021-05-06 09:00+08:00, 5 days -> Wed 2021-05-12 09:00+08:00
      (anniversaries: Fri 7, Sat 8 [调休], Mon 10, Tue 11, Wed 12 -- Sun 9 is off).
    """
    _require_aware(start, "start")
    if not math.isfinite(working_days) or working_days < 0:
        raise ValueError(f"working_days must be a finite number >= 0, got {working_days!r}")

    # Working time is counted from the start's local midnight (its time of day included) or, on a
    # non-working day, from the next working day's midnight; then the deadline falls on the k-th
    # working day after that one. A deadline ending exactly at a day's end is the next midnight.
    total = timedelta(days=working_days)  # rounds to whole microseconds
    local = _to_local(start, tz)
    day = local.date()
    if cal.is_working_day(day):
        total += local - datetime.combine(day, time())
    k = max(0, -(-total // _ONE_DAY) - 1)
    due = datetime.combine(_working_days_after(day, k, cal), time()) + (total - k * _ONE_DAY)
    return _from_local(due, tz, start.tzinfo)


def working_seconds_between(
    a: datetime,
    b: datetime,
    cal: WorkingCalendar,
    tz: tzinfo = SHANGHAI,
) -> float:
    """Working time from ``a`` to ``b`` in seconds; 0 if ``b <= a``."""
    return _working_time(a, b, cal, tz).total_seconds()


def working_days_between(
    a: datetime,
    b: datetime,
    cal: WorkingCalendar,
    tz: tzinfo = SHANGHAI,
) -> float:
    """Working time from ``a`` to ``b`` in (fractional) working days, e.g. for
    "mean working days to close"; 0 if ``b <= a``."""
    return working_seconds_between(a, b, cal, tz) / SECONDS_PER_WORKING_DAY


def elapsed_fraction(
    start: datetime,
    due: datetime,
    now: datetime,
    cal: WorkingCalendar,
    tz: tzinfo = SHANGHAI,
) -> float:
    """Share of the working-time budget start->due used up at ``now``.

    0.0 if ``now <= start``; >= 1.0 means the deadline has passed (values above
    1 say by how much).  A budget of zero working time (``due <= start`` or no
    working day in between) is 1.0 once ``now >= due`` and 0.0 before.
    """
    elapsed_us, total_us = _progress(start, due, now, cal, tz)
    return elapsed_us / total_us


@dataclass(frozen=True)
class DeadlinePolicy:
    """Deadline budgets and the warning ladder for a review's follow-up.

    ``contact_working_days``: time to contact the reviewer;
    ``resolve_working_days``: time to resolve (整改) a bad review;
    ``warn_percents``: warning thresholds below 100; reaching 100 escalates.
    """

    contact_working_days: float = 1
    resolve_working_days: float = 5
    warn_percents: tuple[int, ...] = (50, 80)

    def __post_init__(self) -> None:
        for name in ("contact_working_days", "resolve_working_days"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        for p in self.warn_percents:
            if not 0 < p < ESCALATION_PERCENT:
                raise ValueError(f"warn_percents must be in 1..99, got {p!r}")

    def contact_due(self, start: datetime, cal: WorkingCalendar, tz: tzinfo = SHANGHAI) -> datetime:
        return due_after(start, self.contact_working_days, cal, tz)

    def resolve_due(self, start: datetime, cal: WorkingCalendar, tz: tzinfo = SHANGHAI) -> datetime:
        return due_after(start, self.resolve_working_days, cal, tz)

    def thresholds_crossed(
        self,
        start: datetime,
        due: datetime,
        now: datetime,
        cal: WorkingCalendar,
        tz: tzinfo = SHANGHAI,
    ) -> list[int]:
        """Ascending thresholds (warn percents, then 100) reached at ``now``.

        Compared on integer microseconds, not floats, so "exactly 80 %" counts
        as reached regardless of rounding.
        """
        elapsed_us, total_us = _progress(start, due, now, cal, tz)
        ladder = sorted({*self.warn_percents, ESCALATION_PERCENT})
        return [p for p in ladder if elapsed_us * 100 >= p * total_us]


# --- internals ---------------------------------------------------------------


def _progress(
    start: datetime, due: datetime, now: datetime, cal: WorkingCalendar, tz: tzinfo
) -> tuple[int, int]:
    """(elapsed, budget) in microseconds, budget > 0, encoding the edge cases."""
    for value, name in ((start, "start"), (due, "due"), (now, "now")):
        _require_aware(value, name)
    if now <= start:
        return 0, 1
    total_us = _working_time(start, due, cal, tz) // _ONE_US
    if total_us <= 0:
        return (1, 1) if now >= due else (0, 1)
    return _working_time(start, now, cal, tz) // _ONE_US, total_us


def _working_time(a: datetime, b: datetime, cal: WorkingCalendar, tz: tzinfo) -> timedelta:
    _require_aware(a, "a")
    _require_aware(b, "b")
    if b <= a:
        return timedelta(0)
    la, lb = _to_local(a, tz), _to_local(b, tz)
    first, last = la.date(), lb.date()
    if first == last:
        return lb - la if cal.is_working_day(first) else timedelta(0)
    # The two partial days, and the whole working days between them counted from the calendar's
    # per-year table: a ticket read years after its deadline costs no walk over those years.
    total = timedelta(0)
    if cal.is_working_day(first):
        total += datetime.combine(first + _ONE_DAY, time()) - la
    if cal.is_working_day(last):
        total += lb - datetime.combine(last, time())
    return total + _ONE_DAY * _working_days_within(first + _ONE_DAY, last - _ONE_DAY, cal)


# Per calendar: year -> how many working days come before each day of that year (index: the day's
# ordinal in the year - 1; the last entry is the year's total). A calendar's answers do not change.
_YEAR_COUNTS: dict[int, tuple[WorkingCalendar, dict[int, list[int]]]] = {}
_YEAR_COUNTS_LIMIT = 1_000  # years per calendar


def _answers_of(tables: dict, cal: WorkingCalendar) -> dict:
    """The calendar's own table in `tables`, made empty on first use. Keyed by identity (a calendar
    need not be hashable); the calendar is held beside it so its id stays its own."""
    entry = tables.get(id(cal))
    if entry is None or entry[0] is not cal:
        if len(tables) > 64:
            tables.clear()
        entry = tables[id(cal)] = (cal, {})
    return entry[1]


def _year_counts(year: int, cal: WorkingCalendar) -> list[int]:
    years = _answers_of(_YEAR_COUNTS, cal)
    counts = years.get(year)
    if counts is None:
        if len(years) > _YEAR_COUNTS_LIMIT:
            years.clear()
        counts, n, day = [0], 0, date(year, 1, 1)
        while day.year == year:
            n += cal.is_working_day(day)
            counts.append(n)
            day += _ONE_DAY
        years[year] = counts
    return counts


def _working_days_within(first: date, last: date, cal: WorkingCalendar) -> int:
    """Working days d with first <= d <= last."""
    if last < first:
        return 0
    start, end = first.timetuple().tm_yday - 1, last.timetuple().tm_yday
    if first.year == last.year:
        counts = _year_counts(first.year, cal)
        return counts[end] - counts[start]
    head = _year_counts(first.year, cal)
    n = head[-1] - head[start] + _year_counts(last.year, cal)[end]
    for year in range(first.year + 1, last.year):
        n += _year_counts(year, cal)[-1]
    return n


# Per calendar: (day, k) -> the k-th working day after the first working day from `day` on (that
# day itself if it is one). Every ticket opened on a day asks the same question; a calendar's
# answers do not change (the Chinese adapter caches them too), so the answers are kept, bounded.
_DAYS_AFTER: dict[int, tuple[WorkingCalendar, dict[tuple[date, int], date]]] = {}
_DAYS_AFTER_LIMIT = 100_000


def _working_days_after(day: date, k: int, cal: WorkingCalendar) -> date:
    known = _answers_of(_DAYS_AFTER, cal)
    got = known.get((day, k))
    if got is None:
        if len(known) > _DAYS_AFTER_LIMIT:
            known.clear()
        got = day if cal.is_working_day(day) else _next_working_day(day, cal)
        for _ in range(k):
            got = _next_working_day(got, cal)
        known[(day, k)] = got
    return got


def _next_working_day(day: date, cal: WorkingCalendar) -> date:
    candidate = day
    for _ in range(_MAX_IDLE_DAYS):
        candidate += _ONE_DAY
        if cal.is_working_day(candidate):
            return candidate
    raise ValueError(f"no working day within {_MAX_IDLE_DAYS} days after {day}; calendar is broken")


def _to_local(dt: datetime, tz: tzinfo) -> datetime:
    """Naive local wall-clock time in ``tz`` (day boundaries are local midnights)."""
    return dt.astimezone(tz).replace(tzinfo=None)


def _from_local(naive: datetime, tz: tzinfo, out_tz: tzinfo | None) -> datetime:
    return naive.replace(tzinfo=tz).astimezone(out_tz)


def _require_aware(dt: datetime, name: str) -> None:
    # Naive datetimes would silently be read as the server's local time.
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {dt!r}")
