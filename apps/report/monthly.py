"""The monthly rectification-rate report (差评整改率月报), as of any moment.

`build_monthly_report(store, month, as_of, directory, calendar) -> MonthlyReport` is the one entry
point (the CLI and the HTTP API call it). The same as_of always gives the same report: reviews
count if received <= as_of, ticket facts if they occurred <= as_of (docs/metrics.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from haocha.domain.deadlines import working_days_between
from haocha.domain.metrics import TZ, Components, WorkingClock
from sinks import report_sql as q
from apps.report.model import (
    CarryOver, MonthlyReport, Notes, RankEntry, Ranking, ScopeRow, UnclosedTicket, metric_defs,
)

SHANGHAI = ZoneInfo(TZ)
BOTTOM_N = 5
# The report keeps this many open tickets (overdue first); notes.open_tickets is the total and
# open_tickets_page() fetches any further page.
OPEN_PAGE = 1000
HOUR_MS = 3_600_000

STAGE_LABELS = {
    "": "未建单",
    "TicketOpened": "待分派",
    "TicketAssigned": "已分派",
    "ContactRecorded": "已回访",
    "RectificationRecorded": "已整改待反馈",
    "FeedbackGiven": "已反馈待办结",
    "PolicyExplained": "已解释待办结",
    "AppealFiled": "申诉中",
    "AppealDecided": "申诉驳回",
    "TicketReopened": "追评重办",
    "TicketClosed": "已办结",
}


def month_bounds(month: str, tz: ZoneInfo = SHANGHAI) -> tuple[datetime, datetime]:
    """[first instant, first instant of next month) in local time (tz) for "YYYY-MM"."""
    try:
        y, m = (int(x) for x in month.split("-"))
        start = datetime(y, m, 1, tzinfo=tz)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"month must be YYYY-MM, got {month!r}") from exc
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=tz)
    return start, end


def parse_as_of(as_of: datetime | str | None, tz: ZoneInfo = SHANGHAI) -> datetime:
    """None -> now; naive times are local (tz); truncated to milliseconds (the store's unit)."""
    if as_of is None:
        t = datetime.now(tz)
    elif isinstance(as_of, str):
        t = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    else:
        t = as_of
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    t = t.astimezone(tz)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _ms(t: datetime) -> int:
    return int(round(t.timestamp() * 1000))


def report_params(store, month: str, as_of, calendar) -> tuple[datetime, datetime, datetime, dict]:
    tz = store.tz
    start, end = month_bounds(month, tz)
    t = parse_as_of(as_of, tz)
    clock = WorkingClock.build(calendar, start.date() - timedelta(days=7), max(t.date(), start.date()) + timedelta(days=1))
    return start, end, t, {"start": _ms(start), "end": _ms(end), "asof": _ms(t), **clock.params()}


@dataclass
class Figures:
    """Per window components at T, and the counts behind the notes."""

    per_window: dict[tuple[str, str, str], Components]
    late: int = 0
    invalidated: int = 0
    open_count: int = 0
    overdue_count: int = 0


def figures(store, params: dict) -> Figures:
    """The figures of report_params(): review components (received <= T) minus the invalidated
    ones, plus ticket components: the rollups for every hour before T's, raw rows for the rest
    (sinks/report_sql.py)."""
    tickets: dict[tuple[str, str, str], dict[str, int]] = {}
    corrected = store.query(q.corrected_count(), params)[0][0]
    for sql in (q.ticket_rollup_components(),) + ((q.ticket_corrections(),) if corrected else ()):
        for row in store.query_dicts(sql, params):
            acc = tickets.setdefault((row["department_id"], row["hall_id"], row["window_id"]), {})
            for k, v in row.items():
                if k not in ("department_id", "hall_id", "window_id"):
                    acc[k] = acc.get(k, 0) + int(v)
    out = Figures(per_window={})
    rows = store.query_dicts(q.review_components(), params)
    # In key order, so that float sums over windows add up the same way every time
    for row in sorted(rows, key=lambda r: (r["department_id"], r["hall_id"], r["window_id"])):
        key = (row["department_id"], row["hall_id"], row["window_id"])
        tk = tickets.pop(key, {})
        out.late += int(row["late"])
        out.invalidated += tk.get("inv_reviews", 0)
        c = Components(
            reviews=int(row["reviews"]) - tk.get("inv_reviews", 0), good=int(row["good"]) - tk.get("inv_good", 0),
            bad=int(row["bad"]) - tk.get("inv_bad", 0), score_sum=int(row["score_sum"]) - tk.get("inv_score_sum", 0),
            real_name_bad=int(row["real_name_bad"]) - tk.get("inv_real_name_bad", 0),
            closed=tk.get("closed", 0), closed_on_time=tk.get("closed_on_time", 0),
            contacted=tk.get("contacted", 0), days_to_close_sum=tk.get("days_ms", 0) / q.MS_PER_DAY,
        )
        out.open_count += c.bad - c.closed
        out.overdue_count += tk.get("overdue", 0)
        out.per_window[key] = c
    return out


def open_tickets_page(store, month: str, as_of, directory, calendar, offset: int = 0,
                      limit: int = OPEN_PAGE) -> list[UnclosedTicket]:
    """The open tickets of the month at as_of from position offset on (overdue first, then by
    happened_at), at most limit of them."""
    _, _, _, params = report_params(store, month, as_of, calendar)
    return _open_page(store, params, figures(store, params), max(0, offset), max(0, limit), directory)


def _open_page(store, params: dict, fig: Figures, offset: int, limit: int, directory) -> list[UnclosedTicket]:
    """The page from the month's bad reviews in slices of happened_at, until the slices read hold
    the first offset + limit of each kind the page needs: the counts say how many overdue tickets
    there are, so the rest of the month is not folded. The first slice is sized to hold about
    half again the tickets needed if they were spread evenly, each next one twice as long."""
    need = offset + limit
    want_overdue = min(need, fig.overdue_count)
    want_other = min(need - want_overdue, fig.open_count - fig.overdue_count)
    overdue: list[dict] = []
    other: list[dict] = []
    lo, end = params["start"], params["end"]
    width = max(HOUR_MS, (end - lo) * 3 * need // max(1, 2 * fig.open_count))
    while lo < end and (len(overdue) < want_overdue or len(other) < want_other):
        hi = min(end, lo + width)
        for r in store.query_dicts(q.open_tickets(), {**params, "from": lo, "to": hi, "need": need}):
            (overdue if r["overdue"] else other).append(r)
        lo, width = hi, width * 2
    rows = (overdue[:want_overdue] + other[:want_other])[offset:need]
    return [_open_ticket(r, directory, store.tz) for r in rows]


def build_monthly_report(store, month: str, as_of, directory, calendar, open_limit: int = OPEN_PAGE) -> MonthlyReport:
    """Months, the as-of and the times shown are in the store's time zone (settings.timezone).
    open_tickets holds the first open_limit open tickets; notes.open_tickets counts them all."""
    tz = store.tz
    start, end, t, params = report_params(store, month, as_of, calendar)

    fig = figures(store, params)
    per_window = fig.per_window
    for w in directory.windows.values():  # every window of the directory appears, reviewed or not
        per_window.setdefault((w.department_id, w.hall_id, w.window_id), Components())

    per_dept: dict[str, Components] = {d: Components() for d in directory.departments}
    for (dept, _, _), c in per_window.items():
        per_dept[dept] = per_dept.get(dept, Components()) + c

    departments = [ScopeRow.of("department", d, directory.department_name(d), c) for d, c in _sorted_depts(per_dept, directory)]
    windows = [
        ScopeRow.of("window", w, directory.window_name(w), c, department_id=d, hall_id=h)
        for (d, h, w), c in sorted(per_window.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0]))
    ]
    totals = ScopeRow.of("total", "all", "合计", Components.total(per_window.values()))

    open_tickets = _open_page(store, params, fig, 0, max(0, open_limit), directory)
    carry = [_carry_over(r, directory, calendar, tz) for r in store.query_dicts(q.carry_over(), params)]

    return MonthlyReport(
        title=f"{start.year}年{start.month}月 政务服务好差评差评整改率月报",
        month=f"{start.year:04d}-{start.month:02d}",
        as_of=t,
        timezone=tz.key,
        period_start=start,
        period_end=end,
        metrics=metric_defs(),
        totals=totals,
        departments=departments,
        windows=windows,
        rankings=rankings(departments, windows),
        open_tickets=open_tickets,
        carry_over=carry,
        notes=Notes(late_reviews=fig.late, invalidated=fig.invalidated, open_tickets=fig.open_count,
                    overdue_tickets=fig.overdue_count, carry_over=len(carry)),
    )


def _sorted_depts(per_dept: dict[str, Components], directory):
    order = {d: i for i, d in enumerate(directory.departments)}
    return sorted(per_dept.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def rankings(departments: list[ScopeRow], windows: list[ScopeRow], n: int = BOTTOM_N) -> list[Ranking]:
    """The bottom n by satisfaction (lowest first) and by bad rate (highest first); scopes with no
    review are not ranked. Ties: more reviews first, then id."""
    out = []
    for scope, rows in (("window", windows), ("department", departments)):
        rated = [r for r in rows if r.reviews > 0]
        for by, order in (("satisfaction", "asc"), ("bad_rate", "desc")):
            sign = 1 if order == "asc" else -1
            ranked = sorted(rated, key=lambda r: (sign * getattr(r, by), -r.reviews, r.id))[:n]
            out.append(Ranking(scope=scope, by=by, order=order, entries=[
                RankEntry(rank=i, id=r.id, name=r.name, value=getattr(r, by), reviews=r.reviews)
                for i, r in enumerate(ranked, start=1)
            ]))
    return out


def _aware(v: datetime, tz: ZoneInfo) -> datetime:
    return v if v.tzinfo else v.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)


def _open_ticket(r: dict, directory, tz: ZoneInfo) -> UnclosedTicket:
    has = bool(r["has_ticket"])
    stage = r["stage"] if has else ""
    return UnclosedTicket(
        ticket_id=r["ticket_id"], review_id=r["review_id"], department_id=r["department_id"],
        department_name=directory.department_name(r["department_id"]), hall_id=r["hall_id"],
        window_id=r["window_id"], window_name=directory.window_name(r["window_id"]), rating=r["rating"],
        real_name=bool(r["real_name"]), reasons=list(r["reasons"]), happened_at=_aware(r["happened_at"], tz),
        received_at=_aware(r["received_at"], tz), opened_at=_aware(r["opened_at"], tz) if has else None,
        resolve_due=_aware(r["resolve_due"], tz) if has else None, stage=stage,
        stage_label=STAGE_LABELS.get(stage, stage), contacted=bool(r["is_contacted"]) and has,
        overdue=bool(r["overdue"]), escalated=bool(r["escalated"]) and has,
        working_days_open=float(r["days_open"]) if has else None,
    )


def _carry_over(r: dict, directory, calendar, tz: ZoneInfo) -> CarryOver:
    happened, opened, closed = _aware(r["happened_at"], tz), _aware(r["opened_at"], tz), _aware(r["closed_at"], tz)
    return CarryOver(
        ticket_id=r["ticket_id"], review_id=r["review_id"], review_month=f"{happened.year:04d}-{happened.month:02d}",
        department_id=r["department_id"], department_name=directory.department_name(r["department_id"]),
        hall_id=r["hall_id"], window_id=r["window_id"], window_name=directory.window_name(r["window_id"]),
        rating=r["rating"], happened_at=happened, opened_at=opened, closed_at=closed,
        resolution=r["resolution"], on_time=bool(r["on_time"]),
        working_days_to_close=working_days_between(opened, closed, calendar),
    )


__all__ = ["build_monthly_report", "open_tickets_page", "figures", "report_params", "month_bounds", "parse_as_of", "rankings", "STAGE_LABELS"]
