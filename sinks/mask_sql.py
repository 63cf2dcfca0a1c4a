"""haocha.domain.privacy's masking as ClickHouse expressions, for rows that ClickHouse maps from a
topic's JSON itself (sinks/staging.py). Same results as the Python functions, character for
character (tests/integration/test_store_ingest.py compares them on many generated strings).
"""

from __future__ import annotations

# RE2 has no lookaround, so the characters bounding a number are matched and put back (\1, \5).
# A number right after a masked one lost its left bound to that match: a second pass masks it (a
# masked number no longer matches, so two passes are the fixed point). \p{Nd} is Python's \d.
_MOBILE = r"(^|[^\\p{Nd}])((?:\\+?86[- ]?)?)(1[3-9]\\p{Nd})\\p{Nd}{4}(\\p{Nd}{4})($|[^\\p{Nd}])"
_MASKED = r"\\1\\2\\3****\\4\\5"


def mask_phones_in_text(expr: str) -> str:
    """`privacy.mask_phones_in_text` of a (Nullable) String expression."""
    once = f"replaceRegexpAll({expr}, '{_MOBILE}', '{_MASKED}')"
    return f"replaceRegexpAll({once}, '{_MOBILE}', '{_MASKED}')"


def mask_phone(expr: str) -> str:
    """`privacy.mask_phone` of a (Nullable) String expression."""
    digits = f"replaceRegexpOne({expr}, '^\\\\++', '')"
    n = f"toInt64(lengthUTF8({digits}))"
    head, tail = f"if({n} >= 11, 3, 1)", f"if({n} >= 11, 4, 2)"
    return (f"if(empty({expr}), {expr}, if({n} <= {head} + {tail}, repeat('*', lengthUTF8({expr})), "
            f"concat(substringUTF8({expr}, 1, lengthUTF8({expr}) - {n}), substringUTF8({digits}, 1, {head}), "
            f"repeat('*', greatest({n} - {head} - {tail}, 0)), substringUTF8({digits}, greatest({n} - {tail} + 1, 1)))))")
