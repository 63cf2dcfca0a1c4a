"""Times and the calendar that tests share: the halls' clock and the shipped working-day calendar."""

from __future__ import annotations

from datetime import datetime
from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.domain.calendar import SHANGHAI

# The shipped (empty) overrides; chinesecalendar covers 2021, the year most tests live in.
CN = ChineseWorkingCalendar()


def sh(*args) -> datetime:
    """A Shanghai wall-clock time: sh(2021, 5, 6, 9, 0)."""
    return datetime(*args, tzinfo=SHANGHAI)
