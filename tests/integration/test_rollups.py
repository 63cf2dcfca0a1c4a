"""The rollup views agree with the raw tables, at every granularity and scope."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.domain.directory import Directory
from sinks.rollups import rollup_schema_sql
from haocha.domain.tickets import fold_all
from apps.report.sample import generate
from haocha.settings import PACKAGE_DATA
from sinks import queries
from sinks.clickhouse import ClickHouseStore

SH = ZoneInfo("Asia/Shanghai")
START, END = datetime(2021, 4, 1, tzinfo=SH), datetime(2021, 8, 1, tzinfo=SH)
SCORES = {5: 100, 4: 80, 3: 60, 2: 30, 1: 0}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    directory = Directory.load(PACKAGE_DATA / "directory.json")
    sample = generate(directory, ChineseWorkingCalendar(), n=700, seed=5)
    store = ClickHouseStore(f"chdb://{tmp_path_factory.mktemp('chdb')}", "haocha_rollups")
    store.migrate()
    half = len(sample.reviews) // 2  # two inserts: the views aggregate across parts
    store.write_reviews(sample.reviews[:half])
    store.write_reviews(sample.reviews[half:])
    store.write_reviews(sample.reviews[:50])  # a replay writes nothing, so the views count nothing twice
    store.write_ticket_events(sample.all_events)
    store.write_ticket_states([fold_all(evs).model_dump(mode="json") for evs in sample.events.values()])
    yield store, sample
    store.close()


def bucket_of(t: datetime, g: str) -> datetime:
    t = t.astimezone(SH)
    if g == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    d = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if g == "day":
        return d
    if g == "week":
        return d - timedelta(days=d.weekday())
    return d.replace(day=1)


@pytest.mark.parametrize("granularity", queries.GRANULARITIES)
@pytest.mark.parametrize("scope", list(queries.SCOPES))
def test_stats_equal_plain_python(env, scope, granularity):
    store, sample = env
    final = {tid: fold_all(evs) for tid, evs in sample.events.items()}
    want = defaultdict(lambda: defaultdict(int))
    for rc in sample.reviews:
        r = rc.review
        if not rc.counted or not START <= r.happened_at < END:
            continue
        st = final.get(rc.ticket_id) if rc.ticket_id else None
        if st is not None and st.status == "invalidated":
            continue
        key = {"window": r.window_id, "department": rc.department_id, "hall": r.hall_id}[scope]
        c = want[(bucket_of(r.happened_at, granularity), key)]
        c["reviews"] += 1
        c["good"] += r.rating >= 4
        c["bad"] += r.rating <= 2
        c["score_sum"] += SCORES[r.rating]
        c["closed"] += bool(st is not None and st.status == "closed")
    got = {(row["bucket"], row["id"]): row for row in queries.stats(store, scope, granularity, START, END)}
    assert set(got) >= set(want)
    for k, c in want.items():
        comp = got[k]["components"]
        for f in ("reviews", "good", "bad", "score_sum", "closed"):
            assert comp[f] == c[f], (k, f)
        assert abs(got[k]["satisfaction"] - c["score_sum"] / c["reviews"]) < 1e-9
    for k in set(got) - set(want):
        assert got[k]["reviews"] == 0


def test_rollups_equal_raw_group_by(env):
    store, _ = env
    for g, bucket in (("day", "toDateTime(toDate(happened_at), 'Asia/Shanghai')"), ("month", "toDateTime(toStartOfMonth(happened_at), 'Asia/Shanghai')")):
        raw = store.query(f"SELECT {bucket} b, window_id, count(), sum(score) FROM {{db}}.reviews WHERE counted GROUP BY b, window_id ORDER BY b, window_id")
        roll = store.query(f"SELECT bucket b, window_id, sum(reviews), sum(score_sum) FROM {{db}}.review_rollups WHERE granularity = '{g}' GROUP BY b, window_id ORDER BY b, window_id")
        assert raw == roll


def test_heatmap_matches_hour_rollup(env):
    store, _ = env
    cells = queries.heatmap(store, START, END)
    assert cells and all(1 <= c["weekday"] <= 7 and 0 <= c["hour"] <= 23 for c in cells)
    total = sum(c["reviews"] for c in cells)
    assert total == sum(r["reviews"] for r in queries.stats(store, "hall", "month", START, END))


def test_backfill_when_views_are_new(env):
    directory = Directory.load(PACKAGE_DATA / "directory.json")
    sample = generate(directory, ChineseWorkingCalendar(), n=120, seed=3)
    # one chdb path per process: a second database in the module's store
    store = ClickHouseStore(env[0].dsn, "haocha_backfill")
    try:
        store.migrate()
        store.command("DROP VIEW haocha_backfill.review_rollups_mv")
        store.command("DROP TABLE haocha_backfill.review_rollups")
        store.write_reviews(sample.reviews)
        store.migrate()  # re-creates the views and backfills from the reviews already stored
        n = store.query("SELECT sum(reviews) FROM {db}.review_rollups WHERE granularity = 'week'")[0][0]
        assert n == sum(rc.counted for rc in sample.reviews)
        store.migrate()  # and only once
        assert store.query("SELECT sum(reviews) FROM {db}.review_rollups WHERE granularity = 'week'")[0][0] == n
    finally:
        store.close()


def test_a_store_with_the_four_grain_views_moves_to_the_one_view(env):
    """A store made when each grain had its view: migrated, those views go and the one view takes
    over, so the rows already summed stay and a later insert is counted once per grain."""
    from sinks.rollups import GRANULARITY_SQL, ROLLUP_SQL

    directory = Directory.load(PACKAGE_DATA / "directory.json")
    sample = generate(directory, ChineseWorkingCalendar(), n=160, seed=11)
    store = ClickHouseStore(env[0].dsn, "haocha_old_views")
    try:
        store.migrate()
        store.command("DROP VIEW haocha_old_views.review_rollups_mv")
        sums = ", ".join(f"{expr} AS {k}" for k, expr in ROLLUP_SQL.items())
        for g, bucket in GRANULARITY_SQL.items():  # the views as the earlier schema made them
            store.command(store._bind(
                f"CREATE MATERIALIZED VIEW {{db}}.review_rollups_{g}_mv TO {{db}}.review_rollups AS SELECT '{g}' "
                f"AS granularity, {bucket} AS bucket, hall_id, department_id, window_id, {sums} FROM {{db}}.reviews "
                "WHERE counted GROUP BY granularity, bucket, hall_id, department_id, window_id"))
        half = len(sample.reviews) // 2
        store.write_reviews(sample.reviews[:half])
        store.migrate()
        views = {r[0] for r in store.query("SELECT name FROM system.tables WHERE database = 'haocha_old_views' "
                                           "AND name LIKE 'review_rollups%mv'")}
        assert views == {"review_rollups_mv"}
        store.write_reviews(sample.reviews[half:])
        counted = sum(rc.counted for rc in sample.reviews)
        got = dict(store.query("SELECT granularity, sum(reviews) FROM {db}.review_rollups GROUP BY granularity"))
        assert got == {g: counted for g in GRANULARITY_SQL}
    finally:
        store.close()


def test_schema_file_is_generated_from_metrics():
    from sinks.clickhouse import SCHEMA_FILES

    path = next(p for p in SCHEMA_FILES if p.name == "schema_rollups.sql")
    assert path.read_text(encoding="utf-8") == rollup_schema_sql(), \
        "regenerate: python -m sinks.rollups > sinks/schema_rollups.sql"
