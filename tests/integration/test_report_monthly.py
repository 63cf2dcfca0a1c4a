"""The monthly report against an independent plain-Python computation over the same events.

A generated sample (cross-month tickets, appeals, reopenings, late and uncounted reviews, the
Labour Day 2021 holidays) is written straight into a real embedded store (no Kafka); every figure
of build_monthly_report is then compared with what plain Python computes from the generated
objects, for several as-of times."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.domain.directory import Directory
from haocha.domain.deadlines import working_days_between
from haocha.domain.tickets import fold_all
from apps.report.monthly import build_monthly_report, open_tickets_page
from apps.report.sample import generate
from haocha.settings import PACKAGE_DATA
from sinks.clickhouse import ClickHouseStore

SH = ZoneInfo("Asia/Shanghai")
MONTH = "2021-05"
START, END = datetime(2021, 5, 1, tzinfo=SH), datetime(2021, 6, 1, tzinfo=SH)
AS_OFS = [
    datetime(2021, 5, 20, 12, 0, tzinfo=SH),  # mid-month: many tickets still open, late reviews unknown
    datetime(2021, 6, 3, 9, 30, tzinfo=SH),  # the usual first report
    datetime(2021, 8, 1, 0, 0, tzinfo=SH),  # after every late review and ticket event
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    directory = Directory.load(PACKAGE_DATA / "directory.json")
    cal = ChineseWorkingCalendar()
    sample = generate(directory, cal, n=900, seed=11)
    store = ClickHouseStore(f"chdb://{tmp_path_factory.mktemp('chdb')}", "haocha_test")
    store.migrate()
    store.write_reviews(sample.reviews)
    store.write_ticket_events(sample.all_events)
    store.write_ticket_states([fold_all(evs).model_dump(mode="json") for evs in sample.events.values()])
    yield store, sample, directory, cal
    store.close()


# ---------------------------------------------------------------------------------------------
# the independent computation


def ticket_at(evs, t):
    """What plain Python knows of a ticket at t."""
    known = sorted((e for e in evs if e.occurred_at <= t), key=lambda e: e.version)
    if not known or known[0].type != "TicketOpened":
        return None
    last_close_or_reopen, closed_at, due = None, None, known[0].event.resolve_due
    out = {"opened_at": known[0].occurred_at, "invalidated": False, "contacted": False}
    for e in known:
        if e.type == "TicketClosed":
            last_close_or_reopen, closed_at = "closed", e.occurred_at
            out["resolution"] = e.event.resolution
        elif e.type == "TicketReopened":
            last_close_or_reopen, due = "reopened", e.event.resolve_due
        elif e.type == "AppealDecided" and e.event.upheld:
            out["invalidated"] = True
        elif e.type == "ContactRecorded" and e.event.reached:
            out["contacted"] = True
    out["closed"] = last_close_or_reopen == "closed"
    out["closed_at"] = closed_at if out["closed"] else None
    out["resolve_due"] = due
    return out


def expected(sample, cal, t):
    comp = defaultdict(lambda: defaultdict(float))  # window key -> components
    open_ids, carry_ids, late, invalid = set(), set(), 0, 0
    for rc in sample.reviews:
        r = rc.review
        if not rc.counted or r.received_at > t:
            continue
        tk = ticket_at(sample.events[rc.ticket_id], t) if rc.ticket_id else None
        if r.happened_at < START and r.rating <= 2 and tk and not tk["invalidated"] and tk["closed"] \
                and START <= tk["closed_at"] < END:
            carry_ids.add(rc.ticket_id)
        if not START <= r.happened_at < END:
            continue
        if r.rating <= 2 and tk and tk["invalidated"]:
            invalid += 1
            continue
        late += r.received_at >= END
        c = comp[(rc.department_id, r.hall_id, r.window_id)]
        c["reviews"] += 1
        c["good"] += r.rating >= 4
        c["score_sum"] += {5: 100, 4: 80, 3: 60, 2: 30, 1: 0}[r.rating]
        if r.rating <= 2:
            c["bad"] += 1
            c["real_name_bad"] += r.is_real_name
            c["contacted"] += bool(r.is_real_name and tk and tk["contacted"])
            if tk and tk["closed"]:
                c["closed"] += 1
                c["closed_on_time"] += tk["closed_at"] <= tk["resolve_due"]
                c["days_to_close_sum"] += working_days_between(tk["opened_at"], tk["closed_at"], cal)
            else:
                open_ids.add(r.review_id)
    return comp, open_ids, carry_ids, late, invalid


def rates(c):
    div = lambda a, b: None if not b else a / b  # noqa: E731
    return {
        "reviews": c["reviews"], "good_rate": div(c["good"], c["reviews"]), "bad_count": c["bad"],
        "bad_rate": div(c["bad"], c["reviews"]), "satisfaction": div(c["score_sum"], c["reviews"]),
        "closed": c["closed"], "rectification_rate": div(c["closed"], c["bad"]),
        "on_time_rate": div(c["closed_on_time"], c["closed"]),
        "return_visit_rate": div(c["contacted"], c["real_name_bad"]),
        "mean_days_to_close": div(c["days_to_close_sum"], c["closed"]),
    }


def same(a, b):
    if a is None or b is None:
        return a is b
    return abs(a - b) < 1e-6


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", AS_OFS, ids=lambda d: d.strftime("%m%d"))
def test_every_figure_matches_plain_python(env, as_of):
    check_report(*env, as_of)


def test_every_figure_at_instants_inside_an_hour(env):
    """The rollups answer for the hours before T's and raw rows for the rest: T exactly at an
    event, a millisecond either side of one, at a deadline, inside the hour of a reopening."""
    store, sample, directory, cal = env
    evs = sorted(sample.all_events, key=lambda e: e.occurred_at)
    closing = next(e for e in evs if e.type == "TicketClosed" and START <= e.occurred_at < END)
    reopen = next(e for e in evs if e.type == "TicketReopened")
    due = next(e.event.resolve_due for e in evs if e.type == "TicketOpened" and e.event.resolve_due > START)
    ms = timedelta(milliseconds=1)
    for t in (closing.occurred_at, closing.occurred_at - ms, closing.occurred_at + ms, due, due + ms,
              reopen.occurred_at + timedelta(minutes=1)):
        check_report(store, sample, directory, cal, t)


def test_open_ticket_pages_make_the_whole_list(env):
    store, sample, directory, cal = env
    t = AS_OFS[1]
    whole = build_monthly_report(store, MONTH, t, directory, cal, open_limit=100_000).open_tickets
    pages = [o for offset in range(0, len(whole) + 7, 7)
             for o in open_tickets_page(store, MONTH, t, directory, cal, offset=offset, limit=7)]
    assert [o.review_id for o in pages] == [o.review_id for o in whole] and len(whole) > 7
    assert [o.overdue for o in whole] == sorted((o.overdue for o in whole), reverse=True)


def check_report(store, sample, directory, cal, as_of):
    rep = build_monthly_report(store, MONTH, as_of, directory, cal)
    comp, open_ids, carry_ids, late, invalid = expected(sample, cal, as_of)

    windows = {(w.department_id, w.hall_id, w.id): w for w in rep.windows}
    for key, c in comp.items():
        got, want = windows[key], rates(c)
        for k, v in want.items():
            assert same(getattr(got, k), v), (key, k, getattr(got, k), v)
    for key, w in windows.items():  # windows without reviews are empty
        if key not in comp:
            assert w.reviews == 0 and w.bad_count == 0

    depts = defaultdict(lambda: defaultdict(float))
    total = defaultdict(float)
    for (d, _, _), c in comp.items():
        for k, v in c.items():
            depts[d][k] += v
            total[k] += v
    by_id = {d.id: d for d in rep.departments}
    for d, c in depts.items():
        for k, v in rates(c).items():
            assert same(getattr(by_id[d], k), v), (d, k)
    for k, v in rates(total).items():
        assert same(getattr(rep.totals, k), v), k

    assert {o.review_id for o in rep.open_tickets} == open_ids
    assert {c.ticket_id for c in rep.carry_over} == carry_ids
    assert rep.notes.late_reviews == late
    assert rep.notes.invalidated == invalid
    for o in rep.open_tickets:
        assert o.overdue == (o.resolve_due is not None and o.resolve_due < as_of)
    for co in rep.carry_over:
        assert abs(co.working_days_to_close - working_days_between(co.opened_at, co.closed_at, cal)) < 1e-6


def test_sample_exercises_the_hard_cases(env):
    store, sample, directory, cal = env
    t = AS_OFS[-1]
    comp, open_ids, carry_ids, late, invalid = expected(sample, cal, t)
    assert late > 0 and invalid > 0 and carry_ids and open_ids
    assert any(e.type == "TicketReopened" for e in sample.all_events)
    assert any(k[0].startswith("supervisor:") for k in comp)


def test_same_as_of_same_report_and_late_reviews_only_later(env):
    store, sample, directory, cal = env
    a = build_monthly_report(store, MONTH, AS_OFS[1], directory, cal).model_dump_json()
    b = build_monthly_report(store, MONTH, AS_OFS[1].isoformat(), directory, cal).model_dump_json()
    assert a == b
    first = build_monthly_report(store, MONTH, AS_OFS[1], directory, cal)
    later = build_monthly_report(store, MONTH, AS_OFS[2], directory, cal)
    assert later.totals.reviews > first.totals.reviews  # late reviews appear in later reports only


def test_no_personal_data(env):
    store, sample, directory, cal = env
    text = build_monthly_report(store, MONTH, AS_OFS[2], directory, cal).model_dump_json()
    phones = {rc.review.evaluator.phone for rc in sample.reviews if rc.review.evaluator.phone}
    from haocha.domain.privacy import mask_phone

    assert phones and not any(p in text or mask_phone(p) in text for p in phones)
    assert "phone" not in json.loads(text)["open_tickets"][0]
    assert "等了很久" not in text  # free-text comments stay out of the report
