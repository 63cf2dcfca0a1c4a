"""Text a spreadsheet would read as a formula (=, +, -, @, or a tab or CR before one): reasons come
from terminals and names from the console, so a report must never run what someone typed."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(v: object) -> bool:
    return isinstance(v, str) and v.startswith(FORMULA_START)


def csv_text(v: object) -> object:
    """A CSV cell: risky text gets a leading apostrophe, which spreadsheets show as text (OWASP)."""
    return "'" + v if formula_like(v) else v
