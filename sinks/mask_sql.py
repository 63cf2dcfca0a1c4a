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


def mask_phone(expr: str, name: str) -> str:
    """`privacy.mask_phone` of a (Nullable) String expression; `name` prefixes the aliases it
    defines (unique in the query), which keep the expression small for the query analyser."""
    d, n, h, t = f"{name}_digits", f"{name}_n", f"{name}_head", f"{name}_tail"
    return (f"if(empty({expr}), {expr}, if((toInt64(lengthUTF8(trimLeft({expr}, '+') AS {d})) AS {n}) <= "
            f"(if({n} >= 11, 3, 1) AS {h}) + (if({n} >= 11, 4, 2) AS {t}), repeat('*', lengthUTF8({expr})), "
            f"concat(substringUTF8({expr}, 1, lengthUTF8({expr}) - {n}), substringUTF8({d}, 1, {h}), "
            f"repeat('*', greatest({n} - {h} - {t}, 0)), substringUTF8({d}, greatest({n} - {t} + 1, 1)))))")
