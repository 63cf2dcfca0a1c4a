"""Working calendars: the pure FixedCalendar and the chinesecalendar adapter."""

import json
from datetime import date, datetime

import chinese_calendar
import pytest

from haocha.adapters.calendar_cn import DEFAULT_OVERRIDES_PATH, ChineseWorkingCalendar, load_overrides
from haocha.domain.calendar import FixedCalendar, WorkingCalendar

LABOUR_DAY_2021 = FixedCalendar(
    holidays={date(2021, 5, d) for d in range(1, 6)},
    workdays={date(2021, 4, 25), date(2021, 5, 8)},
)


# --- FixedCalendar -------------------------------------------------------------


def test_fixed_calendar_weekdays_and_weekends():
    cal = FixedCalendar(set(), set())
    assert cal.is_working_day(date(2021, 4, 30))  # Friday
    assert not cal.is_working_day(date(2021, 4, 24))  # Saturday
    assert not cal.is_working_day(date(2021, 4, 25))  # Sunday


def test_fixed_calendar_labour_day_2021():
    cal = LABOUR_DAY_2021
    assert cal.is_working_day(date(2021, 4, 25))  # Sunday makeup workday
    assert cal.is_working_day(date(2021, 5, 8))  # Saturday makeup workday
    for d in range(1, 6):
        assert not cal.is_working_day(date(2021, 5, d))
    assert not cal.is_working_day(date(2021, 5, 9))  # ordinary Sunday
    assert cal.is_working_day(date(2021, 5, 6))


def test_fixed_calendar_rejects_conflicts_and_datetimes():
    with pytest.raises(ValueError):
        FixedCalendar({date(2021, 5, 1)}, {date(2021, 5, 1)})
    with pytest.raises(TypeError):
        LABOUR_DAY_2021.is_working_day(datetime(2021, 5, 1, 10))


def test_both_implement_the_port():
    assert isinstance(LABOUR_DAY_2021, WorkingCalendar)
    assert isinstance(ChineseWorkingCalendar(), WorkingCalendar)


# --- chinesecalendar adapter -----------------------------------------------------


def test_package_raises_not_implemented_outside_its_range():
    # The adapter's fallback relies on this behaviour of chinesecalendar.
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2003, 1, 6))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2200, 1, 6))


def test_shipped_override_file_is_valid_and_empty():
    raw = json.loads(DEFAULT_OVERRIDES_PATH.read_text(encoding="utf-8"))
    assert raw["holidays"] == [] and raw["workdays"] == [] and "_comment" in raw
    overrides = load_overrides(DEFAULT_OVERRIDES_PATH)
    assert not overrides.holidays and not overrides.workdays


def test_adapter_uses_package_for_labour_day_2021():
    cal = ChineseWorkingCalendar()
    assert cal.is_working_day(date(2021, 4, 25))  # Sunday makeup workday
    assert cal.is_working_day(date(2021, 5, 8))  # Saturday makeup workday
    assert not any(cal.is_working_day(date(2021, 5, d)) for d in range(1, 6))
    assert not cal.is_working_day(date(2021, 5, 9))
    assert cal.package_covers(2021) and cal.covers(2021)
    assert cal.uncovered_years_used == frozenset()


def test_adapter_package_range():
    cal = ChineseWorkingCalendar()
    assert cal.package_covers(2004) and cal.package_covers(2021)
    assert not cal.package_covers(2003) and not cal.package_covers(2099)
    if chinese_calendar.__version__ == "1.11.0":  # the version this was written against
        assert cal.package_covers(2026) and not cal.package_covers(2027)


def _write(tmp_path, payload):
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def test_override_file_wins_over_package(tmp_path):
    # Wed 2021-04-28 becomes a (local) holiday, Sun 2021-05-09 a workday.
    path = _write(tmp_path, {"_comment": "test", "holidays": ["2021-04-28"], "workdays": ["2021-05-09"]})
    cal = ChineseWorkingCalendar(path)
    assert not cal.is_working_day(date(2021, 4, 28))
    assert cal.is_working_day(date(2021, 5, 9))
    assert not cal.is_working_day(date(2021, 5, 3))  # package still answers the rest


def test_override_covers_year_beyond_package(tmp_path):
    # 2099 is far beyond any chinesecalendar release, so this stays valid after upgrades.
    path = _write(tmp_path, {"holidays": ["2099-01-01", "2099-01-02"], "workdays": ["2099-01-03"]})
    cal = ChineseWorkingCalendar(path)
    assert not cal.is_working_day(date(2099, 1, 2))  # Friday, listed holiday
    assert cal.is_working_day(date(2099, 1, 3))  # Saturday, listed workday
    assert not cal.is_working_day(date(2099, 1, 4))  # Sunday, weekday rule
    assert cal.is_working_day(date(2099, 1, 5))  # Monday, weekday rule
    assert cal.covers(2099)
    assert cal.uncovered_years_used == frozenset()
    (warning,) = cal.coverage_warnings(date(2098, 6, 1))  # 2099 covered, 2098 not
    assert "2098 (current year)" in warning


def test_uncovered_year_falls_back_to_weekdays_and_is_remembered():
    cal = ChineseWorkingCalendar()
    assert cal.is_working_day(date(2099, 1, 1))  # Thursday; probably a holiday, but unknown
    assert not cal.is_working_day(date(2099, 1, 3))  # Saturday
    assert cal.uncovered_years_used == frozenset({2099})


def test_coverage_warning_for_uncovered_years():
    cal = ChineseWorkingCalendar()
    assert cal.coverage_warnings(date(2021, 12, 31)) == []
    both = cal.coverage_warnings(date(2099, 3, 1))
    assert len(both) == 2
    assert "2099 (current year)" in both[0] and "2100 (next year)" in both[1]
    assert all("override" in w and "国务院办公厅关于" in w for w in both)


def test_coverage_warning_for_next_year_only():
    cal = ChineseWorkingCalendar()
    first_uncovered = next(y for y in range(2004, 2200) if not cal.covers(y))
    (warning,) = cal.coverage_warnings(date(first_uncovered - 1, 3, 1))
    assert f"{first_uncovered} (next year)" in warning
    if chinese_calendar.__version__ == "1.11.0":
        assert first_uncovered == 2027  # with the shipped (empty) override file


@pytest.mark.parametrize(
    "payload",
    [
        {"holiday": ["2027-01-01"]},  # typo'd key
        {"holidays": ["2027-1-1"]},  # not canonical
        {"holidays": ["2027-02-30"]},  # impossible date
        {"holidays": "2027-01-01"},  # not a list
        {"holidays": ["2027-01-01"], "workdays": ["2027-01-01"]},  # both
        ["2027-01-01"],  # not an object
    ],
)
def test_bad_override_files_are_rejected(tmp_path, payload):
    with pytest.raises(ValueError):
        ChineseWorkingCalendar(_write(tmp_path, payload))
