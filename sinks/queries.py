"""Statistics queries over the rollups (pure functions taking the store).

Figures are "as of now": the review rollups (sinks/schema_rollups.sql) minus the reviews that an
upheld appeal has invalidated since, plus ticket closure from the latest ticket states. Metric
definitions come from haocha.domain.metrics; the monthly report (as of any time) lives in
apps.report.monthly.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from haocha.domain.metrics import ROLLUP_COMPONENTS, Components, metric_values
from sinks.rollups import GRANULARITY_SQL
from sinks.sql import BAD, GOOD, SCORE, at

SCOPES = {"window": "window_id", "department": "department_id", "hall": "hall_id"}
GRANULARITIES = tuple(GRANULARITY_SQL)
START, END = at("start"), at("end")


def _ms(t: datetime, tz: ZoneInfo) -> int:
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return int(round(t.timestamp() * 1000))


def _check(scope: str, granularity: str | None = None) -> str:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if granularity is not None and granularity not in GRANULARITY_SQL:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITY_SQL)}, got {granularity!r}")
    return SCOPES[scope]


def _invalidated_sql(key: str, bucket: str) -> str:
    """Review components of the invalidated reviews (latest ticket state), to subtract."""
    return f"""
    SELECT {bucket} AS b, {key} AS k, count() AS reviews, countIf({GOOD}) AS good,
           countIf({BAD}) AS bad, sum(toUInt64({SCORE})) AS score_sum,
           countIf({BAD} AND real_name) AS real_name_bad
    FROM {{db}}.tickets FINAL
    WHERE status = 'invalidated' AND happened_at >= {START} AND happened_at < {END}
    GROUP BY b, k"""


def _closed_sql(key: str, bucket: str) -> str:
    return f"""
    SELECT {bucket} AS b, {key} AS k, countIf(status = 'closed') AS closed,
           countIf(status = 'closed' AND closed_at <= resolve_due) AS closed_on_time,
           countIf(real_name AND contacted_at IS NOT NULL AND status != 'invalidated') AS contacted
    FROM {{db}}.tickets FINAL
    WHERE happened_at >= {START} AND happened_at < {END}
    GROUP BY b, k"""


def stats(store, scope: str, granularity: str, start: datetime, end: datetime, ids: list[str] | None = None) -> list[dict]:
    """Per bucket of happened_at in [start, end) and per window, department or hall: the metrics
    (reviews, good rate, bad count, bad rate, satisfaction, closed, rectification rate, on-time
    rate, return-visit rate). Mean working days to close is a report figure (needs the calendar)."""
    key = _check(scope, granularity)
    params = {"start": _ms(start, store.tz), "end": _ms(end, store.tz), "g": granularity}
    sums = ", ".join(f"sum({k}) AS {k}" for k in ROLLUP_COMPONENTS)
    rows = store.query_dicts(f"""
        SELECT bucket AS b, {key} AS k, {sums}
        FROM {{db}}.review_rollups
        WHERE granularity = %(g)s AND bucket >= {START} AND bucket < {END}
        GROUP BY b, k""", params)
    acc: dict[tuple, Components] = {}
    for r in rows:
        acc[(r["b"], r["k"])] = Components.from_row(r)
    bucket = GRANULARITY_SQL[granularity]
    for r in store.query_dicts(_invalidated_sql(key, bucket), params):
        c = acc.get((r["b"], r["k"]), Components())
        inv = Components.from_row(r)
        acc[(r["b"], r["k"])] = Components(**{f: getattr(c, f) - getattr(inv, f) for f in vars(c)})
    for r in store.query_dicts(_closed_sql(key, bucket), params):
        c = acc.setdefault((r["b"], r["k"]), Components())
        c.closed, c.closed_on_time, c.contacted = int(r["closed"]), int(r["closed_on_time"]), int(r["contacted"])
    out = []
    for (b, k), c in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if ids and k not in ids:
            continue
        vals = metric_values(c)
        vals.pop("mean_days_to_close", None)
        out.append({"bucket": _aware(b, store.tz), "scope": scope, "id": k, **vals, "components": vars(c).copy()})
    return out


def heatmap(store, start: datetime, end: datetime, scope: str | None = None, scope_id: str | None = None) -> list[dict]:
    """Satisfaction by weekday (1 = Monday) and hour of day (local time), over [start, end)."""
    where, params = "", {"start": _ms(start, store.tz), "end": _ms(end, store.tz)}
    where_inv = ""
    if scope:
        key = _check(scope)
        where = f" AND {key} = %(sid)s"
        where_inv = where
        params["sid"] = scope_id
    rows = store.query_dicts(f"""
        SELECT toDayOfWeek(bucket) AS weekday, toHour(bucket) AS hour,
               sum(reviews) AS reviews, sum(score_sum) AS score_sum
        FROM {{db}}.review_rollups
        WHERE granularity = 'hour' AND bucket >= {START} AND bucket < {END}{where}
        GROUP BY weekday, hour""", params)
    inv = {
        (r["weekday"], r["hour"]): r
        for r in store.query_dicts(f"""
            SELECT toDayOfWeek(happened_at) AS weekday, toHour(happened_at) AS hour, count() AS reviews,
                   sum(toUInt64({SCORE})) AS score_sum
            FROM {{db}}.tickets FINAL
            WHERE status = 'invalidated' AND happened_at >= {START}
              AND happened_at < {END}{where_inv}
            GROUP BY weekday, hour""", params)
    }
    out = []
    for r in rows:
        i = inv.get((r["weekday"], r["hour"]), {"reviews": 0, "score_sum": 0})
        n, s = int(r["reviews"]) - int(i["reviews"]), int(r["score_sum"]) - int(i["score_sum"])
        out.append({"weekday": int(r["weekday"]), "hour": int(r["hour"]), "reviews": n,
                    "satisfaction": (s / n) if n else None})
    return sorted(out, key=lambda x: (x["weekday"], x["hour"]))


def _aware(v, tz: ZoneInfo):
    if isinstance(v, datetime) and v.tzinfo is None:
        return v.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)
    return v
