"""Mainland-China working calendar: ``chinesecalendar`` package + override file.

Why an override file: the package only knows the years published before its
release (1.11.0 covers 2004–2026; any other year raises NotImplementedError),
while the State Council publishes next year's schedule each autumn
(国务院办公厅关于部分节假日安排的通知).  The JSON override file bridges that gap
and also carries local adjustments.  Precedence: override file > package >
plain Mon–Fri rule.  The Mon–Fri fallback keeps the system running in an
uncovered year, but it is *wrong* around holidays, so it is recorded and
surfaced by :meth:`ChineseWorkingCalendar.coverage_warnings`.

Override file format (keys starting with "_" are comments and ignored)::

    {"holidays": ["2027-01-01", ...], "workdays": ["2027-02-07", ...]}
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, tzinfo
from pathlib import Path

import chinese_calendar

from haocha.domain.calendar import SHANGHAI, FixedCalendar, is_weekday

__all__ = ["DEFAULT_OVERRIDES_PATH", "ChineseWorkingCalendar", "load_overrides"]

log = logging.getLogger(__name__)

# Shipped next to the package as data (haocha/data/, no __init__.py).
DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parent.parent / "data" / "calendar_overrides.json"

_KNOWN_KEYS = frozenset({"holidays", "workdays"})


def load_overrides(path: Path) -> FixedCalendar:
    """Parse an override file into a :class:`FixedCalendar`.

    Strict on purpose: a typo such as ``"holiday"`` or ``"2027-1-1"`` would
    otherwise silently drop a holiday and shift every deadline around it.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object with 'holidays'/'workdays' lists")
    unknown = {k for k in data if not k.startswith("_")} - _KNOWN_KEYS
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)} (allowed: holidays, workdays, _comment...)")
    try:
        return FixedCalendar(
            holidays=_parse_dates(data.get("holidays", []), "holidays", path),
            workdays=_parse_dates(data.get("workdays", []), "workdays", path),
        )
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _parse_dates(raw: object, key: str, path: Path) -> list[date]:
    if not isinstance(raw, list):
        raise ValueError(f"{path}: '{key}' must be a list of YYYY-MM-DD strings")
    out = []
    for item in raw:
        # fromisoformat in 3.11 also accepts "20270101"; insist on the canonical form.
        if not isinstance(item, str) or len(item) != 10:
            raise ValueError(f"{path}: '{key}' entry {item!r} is not a YYYY-MM-DD string")
        try:
            out.append(date.fromisoformat(item))
        except ValueError:
            raise ValueError(f"{path}: '{key}' entry {item!r} is not a valid date") from None
    return out


def _package_year_range() -> tuple[int, int] | None:
    # `chinese_calendar.holidays` is the package's exported data dict; its span
    # is exactly what `is_workday` accepts (it raises NotImplementedError outside).
    data = getattr(chinese_calendar, "holidays", None)
    if not data:
        return None
    years = [d.year for d in data]
    return min(years), max(years)


class ChineseWorkingCalendar:
    """:class:`~haocha.domain.calendar.WorkingCalendar` for mainland China.

    ``overrides_path=None`` uses the shipped ``haocha/data/calendar_overrides.json``.
    Answers are cached per date: a sweep asks about the same few weeks for
    thousands of tickets.
    """

    def __init__(self, overrides_path: Path | None = None, tz: tzinfo = SHANGHAI) -> None:
        self.tz = tz  # for callers passing it on to haocha.domain.deadlines
        self.overrides_path = Path(overrides_path) if overrides_path is not None else DEFAULT_OVERRIDES_PATH
        self.overrides = load_overrides(self.overrides_path)
        self._override_years = frozenset(d.year for d in self.overrides.holidays | self.overrides.workdays)
        self._package_range = _package_year_range()
        self._cache: dict[date, bool] = {}
        self._uncovered_used: set[int] = set()

    # -- port -----------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            # datetime != date in dict/set lookups, and its local date depends on tz.
            raise TypeError("is_working_day expects a local date, not a datetime")
        cached = self._cache.get(day)
        if cached is None:
            cached = self._cache[day] = self._lookup(day)
        return cached

    # -- coverage ---------------------------------------------------------------

    def package_covers(self, year: int) -> bool:
        rng = self._package_range
        return rng is not None and rng[0] <= year <= rng[1]

    def override_covers(self, year: int) -> bool:
        # Any entry dated in that year counts -- so add a year's official
        # schedule completely, not one local adjustment at a time.
        return year in self._override_years

    def covers(self, year: int) -> bool:
        return self.package_covers(year) or self.override_covers(year)

    @property
    def uncovered_years_used(self) -> frozenset[int]:
        """Years for which the Mon–Fri fallback has actually been used."""
        return frozenset(self._uncovered_used)

    def coverage_warnings(self, today: date) -> list[str]:
        """Warnings for the current and next year if neither source covers them.

        Checking next year too gives operators the autumn/winter to add the
        official schedule before deadlines start crossing into it.
        """
        rng = self._package_range
        pkg = f"chinesecalendar (covers {rng[0]}–{rng[1]})" if rng else "chinesecalendar (no data)"
        warnings = []
        for year, which in ((today.year, "current"), (today.year + 1, "next")):
            if self.covers(year):
                continue
            warnings.append(
                f"Working calendar does not cover {year} ({which} year): neither {pkg} "
                f"nor the override file {self.overrides_path} lists dates in {year}. "
                f"Days in {year} are treated as plain Mon–Fri working days, so statutory "
                f"holidays and 调休 makeup workdays -- and every deadline around them -- "
                f"will be wrong. Add the dates from 国务院办公厅关于{year}年部分节假日安排的通知 "
                f"to the override file (see docs/calendar.md) or upgrade chinesecalendar."
            )
        return warnings

    # -- internals --------------------------------------------------------------

    def _lookup(self, day: date) -> bool:
        explicit = self.overrides.decides(day)
        if explicit is not None:
            return explicit
        if self.package_covers(day.year):
            try:
                return chinese_calendar.is_workday(day)
            except NotImplementedError:
                pass  # range detection disagreed with the package; fall through
        if not self.override_covers(day.year) and day.year not in self._uncovered_used:
            self._uncovered_used.add(day.year)
            log.warning("no official working-day schedule for %s; using Mon–Fri fallback", day.year)
        return is_weekday(day)
