"""Working-calendar port (pure domain, no I/O).

Deadlines in the 好差评 system are counted in working days, and which days are
working days in China is decided each year by the State Council (holidays plus
"调休" makeup workdays on weekends).  The domain only needs one question
answered -- "is this local date a working day?" -- so that is the whole port.
Where the answer comes from (a package, an override file) is an adapter concern.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

# Government service halls run on Beijing time; every "day" boundary is a
# local midnight in this zone unless a caller says otherwise.
SHANGHAI = ZoneInfo("Asia/Shanghai")


@runtime_checkable
class WorkingCalendar(Protocol):
    """Answers whether a *local* calendar date is a working day."""

    def is_working_day(self, day: date) -> bool: ...


class FixedCalendar:
    """Weekday rule plus explicit exceptions; fully deterministic.

    * Mon–Fri are working days, Sat/Sun are not, unless
    * the date is in ``workdays`` (e.g. a 调休 Saturday) -> working, or
    * the date is in ``holidays`` -> not working.

    Used directly by unit tests, and by the Chinese-calendar adapter to hold
    the override file's entries (which take precedence over the package).
    """

    __slots__ = ("holidays", "workdays")

    def __init__(
        self,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
    ) -> None:
        self.holidays: frozenset[date] = frozenset(holidays)
        self.workdays: frozenset[date] = frozenset(workdays)
        clash = self.holidays & self.workdays
        if clash:
            # A date cannot be both; refusing early beats a silent precedence rule.
            listed = ", ".join(d.isoformat() for d in sorted(clash))
            raise ValueError(f"dates listed as both holiday and workday: {listed}")

    def decides(self, day: date) -> bool | None:
        """Explicit answer for ``day`` if it is listed, else ``None``."""
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        return None

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            # datetime never equals a date in set lookups, and its local date depends on tz.
            raise TypeError("is_working_day expects a local date, not a datetime")
        explicit = self.decides(day)
        if explicit is not None:
            return explicit
        return is_weekday(day)

    def __repr__(self) -> str:
        return f"FixedCalendar(holidays={len(self.holidays)}, workdays={len(self.workdays)})"


def is_weekday(day: date) -> bool:
    """Plain Mon–Fri rule: the fallback when no official schedule is known."""
    return day.weekday() < 5
