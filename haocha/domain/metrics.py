"""Every metric of DOMAIN.md, defined once: pure Python definitions and the SQL used everywhere.

A metric is a ratio (or mean) of additive *components*. Components are summed over any scope
(window -> department -> hall -> total) and time buckets; ratios are taken last, never averaged.
docs/metrics.md states each formula; the report, the rollups (sinks/schema_rollups.sql, generated
from ROLLUP_COMPONENTS below) and the stats queries (sinks/queries.py) all use these definitions.

Pure: no I/O. The working-day clock used in SQL is built from a calendar port passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta

from schemas.review import BAD_RATINGS, GOOD_RATINGS, RATING_SCORES

TZ = "Asia/Shanghai"
CLOSING_EVENTS = ("TicketClosed", "TicketReopened")  # the latest of these decides "closed at T"

# ---------------------------------------------------------------------------------------------
# Components (additive). SQL expressions are over a `reviews` row (rating, score, real_name) plus,
# for ticket components, the per-ticket as-of columns computed by the report query
# (is_closed, is_on_time, is_contacted, days_to_close).

REVIEW_SQL: dict[str, str] = {
    "reviews": "count()",
    "good": "countIf(rating >= 4)",
    "bad": "countIf(rating <= 2)",
    "score_sum": "sum(toUInt64(score))",
    "real_name_bad": "countIf(rating <= 2 AND real_name)",
}
TICKET_SQL: dict[str, str] = {
    "closed": "countIf(rating <= 2 AND is_closed)",
    "closed_on_time": "countIf(rating <= 2 AND is_closed AND is_on_time)",
    "contacted": "countIf(rating <= 2 AND real_name AND is_contacted)",
    # Summed as whole milliseconds: a float sum depends on the order ClickHouse's threads add parts
    # in, and the same as-of must give the same figures to the last digit.
    "days_to_close_sum": "sumIf(toInt64(round(days_to_close * 86400000)), rating <= 2 AND is_closed) / 86400000",
}
# The mapped score of a rating (for tables that hold the rating only, e.g. tickets).
SCORE_SQL = "transform(rating, [{}], [{}], 0)".format(
    ", ".join(str(k) for k in RATING_SCORES), ", ".join(str(v) for v in RATING_SCORES.values()))
# The rollups hold the review components only: ticket facts change after the review is stored.
ROLLUP_COMPONENTS = REVIEW_SQL


@dataclass
class Components:
    """The additive counts behind every metric of one scope and period."""

    reviews: int = 0  # counted, not invalidated
    good: int = 0  # of those, rating 5 or 4
    bad: int = 0  # of those, rating 2 or 1
    score_sum: int = 0  # sum of mapped scores (5->100 ... 1->0)
    real_name_bad: int = 0  # bad reviews by a real-name evaluator
    closed: int = 0  # bad reviews whose ticket is closed at the as-of time
    closed_on_time: int = 0  # of the closed: closed at or before the rectification deadline
    contacted: int = 0  # real-name bad reviews whose evaluator was reached at the as-of time
    days_to_close_sum: float = 0.0  # sum over closed tickets of working days opened -> closed

    def __add__(self, other: "Components") -> "Components":
        return Components(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @classmethod
    def from_row(cls, row: Mapping) -> "Components":
        out = {}
        for f in fields(cls):
            v = row.get(f.name) or 0
            out[f.name] = float(v) if f.name == "days_to_close_sum" else int(v)
        return cls(**out)

    @classmethod
    def total(cls, items: Iterable["Components"]) -> "Components":
        acc = cls()
        for c in items:
            acc = acc + c
        return acc


def ratio(num: float, den: float) -> float | None:
    """num/den; None (shown as "—") when there is nothing to divide by."""
    return None if not den else num / den


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # Chinese header used in every export
    formula: str  # the exact formula, as in docs/metrics.md
    kind: str  # count | rate | score | days

    def value(self, c: Components) -> float | int | None:
        return _VALUES[self.key](c)


_VALUES = {
    "reviews": lambda c: c.reviews,
    "good_rate": lambda c: ratio(c.good, c.reviews),
    "bad_count": lambda c: c.bad,
    "bad_rate": lambda c: ratio(c.bad, c.reviews),
    "satisfaction": lambda c: ratio(c.score_sum, c.reviews),
    "closed": lambda c: c.closed,
    "rectification_rate": lambda c: ratio(c.closed, c.bad),
    "on_time_rate": lambda c: ratio(c.closed_on_time, c.closed),
    "return_visit_rate": lambda c: ratio(c.contacted, c.real_name_bad),
    "mean_days_to_close": lambda c: ratio(c.days_to_close_sum, c.closed),
}

METRICS: tuple[Metric, ...] = (
    Metric("reviews", "评价数", "reviews = counted reviews, not invalidated", "count"),
    Metric("good_rate", "好评率", "good_rate = good / reviews", "rate"),
    Metric("bad_count", "差评数", "bad_count = bad", "count"),
    Metric("bad_rate", "差评率", "bad_rate = bad / reviews", "rate"),
    Metric("satisfaction", "满意度", "satisfaction = score_sum / reviews", "score"),
    Metric("closed", "已办结工单", "closed = bad reviews whose ticket is closed at T", "count"),
    Metric("rectification_rate", "差评整改率", "rectification_rate = closed / bad", "rate"),
    Metric("on_time_rate", "按时办结率", "on_time_rate = closed_on_time / closed", "rate"),
    Metric("return_visit_rate", "回访率", "return_visit_rate = contacted / real_name_bad", "rate"),
    Metric("mean_days_to_close", "平均办结工作日", "mean_days_to_close = days_to_close_sum / closed", "days"),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}
RATE_KEYS = tuple(m.key for m in METRICS if m.kind == "rate")


def metric_values(c: Components) -> dict[str, float | int | None]:
    return {m.key: m.value(c) for m in METRICS}


# ---------------------------------------------------------------------------------------------
# Pure per-review and per-ticket rules (the plain-Python side of the SQL above)


def is_good(rating: int) -> bool:
    return rating in GOOD_RATINGS


def is_bad(rating: int) -> bool:
    return rating in BAD_RATINGS


def score(rating: int) -> int:
    return RATING_SCORES[rating]


def closed_at_time(events: Iterable[tuple[int, str]]) -> bool:
    """Closed at T: among (version, type) events occurred <= T, the latest closing-relevant one
    (TicketClosed or TicketReopened) is a TicketClosed."""
    last = None
    for version, typ in sorted(events):
        if typ in CLOSING_EVENTS:
            last = typ
    return last == "TicketClosed"


def format_value(metric: Metric, v: float | int | None) -> str:
    if v is None:
        return "—"
    if metric.kind == "rate":
        return f"{v * 100:.1f}%"
    if metric.kind in ("score", "days"):
        return f"{v:.2f}"
    return str(v)


# ---------------------------------------------------------------------------------------------
# Working-day clock in SQL: W(t) = working days before t's local date + the elapsed fraction of
# t's day if that day is a working day. working days a->b = max(0, W(b) - W(a)), exactly
# haocha.domain.deadlines.working_days_between (whole local days 00:00-24:00 on working days).

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class WorkingClock:
    first: date
    cum: tuple[float, ...]  # cum[i] = working days strictly before first + i
    work: tuple[int, ...] = field(default=())  # 1 if first + i is a working day

    @classmethod
    def build(cls, calendar, first: date, last: date) -> "WorkingClock":
        cum, work, acc = [], [], 0.0
        d = first
        while d <= last:
            w = 1 if calendar.is_working_day(d) else 0
            cum.append(acc)
            work.append(w)
            acc += w
            d += timedelta(days=1)
        return cls(first, tuple(cum), tuple(work))

    def params(self, prefix: str = "wc") -> dict:
        return {f"{prefix}_base": (self.first - _EPOCH).days, f"{prefix}_cum": list(self.cum),
                f"{prefix}_work": list(self.work)}

    @staticmethod
    def sql(col: str, prefix: str = "wc") -> str:
        """W(col) in working days, for a DateTime64 column in Asia/Shanghai. Dates outside the
        clock's range are clamped to its ends (the builder sizes the clock to cover them)."""
        idx = (f"toUInt32(greatest(1, least(length(%({prefix}_cum)s), "
               f"toInt64(toRelativeDayNum(toDate({col}))) - %({prefix}_base)s + 1)))")
        frac = f"(toUnixTimestamp64Milli({col}) - toUnixTimestamp(toStartOfDay({col})) * 1000) / 86400000.0"
        return f"(arrayElement(%({prefix}_cum)s, {idx}) + arrayElement(%({prefix}_work)s, {idx}) * {frac})"

    def at(self, t: datetime) -> float:
        """The Python twin of sql() (t aware)."""
        from zoneinfo import ZoneInfo

        local = t.astimezone(ZoneInfo(TZ))
        i = min(max((local.date() - self.first).days, 0), len(self.cum) - 1)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return self.cum[i] + self.work[i] * (local - midnight).total_seconds() / 86400


# ---------------------------------------------------------------------------------------------
# The rollup schema, generated from ROLLUP_COMPONENTS (tests check sinks/schema_rollups.sql is
# up to date: `python -m haocha.domain.metrics > sinks/schema_rollups.sql`).

GRANULARITY_SQL: dict[str, str] = {
    "hour": "toStartOfHour(happened_at)",
    "day": "toDateTime(toDate(happened_at), 'Asia/Shanghai')",
    "week": "toDateTime(toMonday(happened_at), 'Asia/Shanghai')",
    "month": "toDateTime(toStartOfMonth(happened_at), 'Asia/Shanghai')",
}


def rollup_schema_sql() -> str:
    cols = ",\n".join(f"    {k:<14} SimpleAggregateFunction(sum, UInt64)" for k in ROLLUP_COMPONENTS)
    sel = ",\n".join(f"    {expr} AS {k}" for k, expr in ROLLUP_COMPONENTS.items())
    out = [
        "-- GENERATED by `python -m haocha.domain.metrics > sinks/schema_rollups.sql`: do not edit by hand.",
        "-- Rollups of counted reviews per service window (with its hall and department) by hour, day,",
        "-- week and month of happened_at (local time). Department and hall figures are sums over windows.",
        "-- Components only (see haocha/domain/metrics.py): ratios are computed at query time.",
        "-- Upheld appeals are subtracted at query time (sinks/queries.py), since they come later.",
        "",
        "CREATE TABLE IF NOT EXISTS {db}.review_rollups",
        "(",
        "    granularity    LowCardinality(String),",
        "    bucket         DateTime('Asia/Shanghai'),",
        "    hall_id        LowCardinality(String),",
        "    department_id  LowCardinality(String),",
        "    window_id      LowCardinality(String),",
        cols,
        ")",
        "ENGINE = AggregatingMergeTree",
        "PARTITION BY granularity",
        "ORDER BY (granularity, bucket, hall_id, department_id, window_id);",
        "",
    ]
    for g, bucket in GRANULARITY_SQL.items():
        select = (
            f"SELECT\n    '{g}' AS granularity,\n    {bucket} AS bucket,\n    hall_id,\n    department_id,\n"
            f"    window_id,\n{sel}\nFROM {{db}}.reviews\nWHERE counted"
        )
        out += [
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.review_rollups_{g}_mv TO {{db}}.review_rollups AS",
            f"{select}\nGROUP BY granularity, bucket, hall_id, department_id, window_id;",
            "",
            "-- Backfill once when the view is new on a store that already holds reviews.",
            "INSERT INTO {db}.review_rollups",
            f"{select}\n    AND (SELECT count() FROM {{db}}.review_rollups WHERE granularity = '{g}') = 0",
            "GROUP BY granularity, bucket, hall_id, department_id, window_id;",
            "",
        ]
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(rollup_schema_sql(), end="")
