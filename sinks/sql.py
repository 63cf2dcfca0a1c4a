"""SQL fragments every ClickHouse query shares: the rating classes, the metric components, the
instants passed in as parameters.

The rules themselves live in the domain (`schemas.review` BAD_RATINGS/GOOD_RATINGS and
RATING_SCORES, `haocha.domain.metrics` the components); this module only writes them in SQL, so a
rule changed there changes every query, the report and the rollups at once.

`{db}` and `{tz}` are left in the text: the store puts its database and time zone in
(`sinks.clickhouse.ClickHouseStore`), as it does for the schema files.
"""

from __future__ import annotations

from collections.abc import Iterable

from haocha.domain.metrics import REVIEW_COMPONENTS, TICKET_COMPONENTS
from schemas.review import BAD_RATINGS, GOOD_RATINGS, RATING_SCORES


def rating_in(ratings: Iterable[int], negate: bool = False) -> str:
    return f"rating {'NOT IN' if negate else 'IN'} ({', '.join(str(r) for r in sorted(ratings))})"


BAD = rating_in(BAD_RATINGS)
GOOD = rating_in(GOOD_RATINGS)
NOT_BAD = rating_in(BAD_RATINGS, negate=True)

# The mapped score of a rating (for tables that hold the rating only, e.g. tickets).
SCORE = "transform(rating, [{}], [{}], 0)".format(
    ", ".join(str(k) for k in RATING_SCORES), ", ".join(str(v) for v in RATING_SCORES.values()))


def at(name: str) -> str:
    """The instant of the epoch-milliseconds parameter `name`, in the store's time zone."""
    return f"fromUnixTimestamp64Milli(toInt64(%({name})s), '{{tz}}')"


# Component SQL over a `reviews` row (rating, score, real_name) plus, for the ticket components,
# the per-ticket as-of columns of the report query (is_closed, is_on_time, is_contacted,
# days_to_close).
COMPONENT_SQL: dict[str, str] = {
    "reviews": "count()",
    "good": f"countIf({GOOD})",
    "bad": f"countIf({BAD})",
    "score_sum": "sum(toUInt64(score))",
    "real_name_bad": f"countIf({BAD} AND real_name)",
    "closed": f"countIf({BAD} AND is_closed)",
    "closed_on_time": f"countIf({BAD} AND is_closed AND is_on_time)",
    "contacted": f"countIf({BAD} AND real_name AND is_contacted)",
    # Summed as whole milliseconds: a float sum depends on the order ClickHouse's threads add parts
    # in, and the same as-of must give the same figures to the last digit.
    "days_to_close_sum": f"sumIf(toInt64(round(days_to_close * 86400000)), {BAD} AND is_closed) / 86400000",
}
REVIEW_SQL: dict[str, str] = {k: COMPONENT_SQL[k] for k in REVIEW_COMPONENTS}
TICKET_SQL: dict[str, str] = {k: COMPONENT_SQL[k] for k in TICKET_COMPONENTS}
