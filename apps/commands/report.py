"""`haocha report monthly|stats|heatmap`: the monthly rectification-rate report and statistics.

While the worker runs it owns the embedded store, so the command first asks the worker's API and
renders that JSON locally; with no worker answering it opens the store itself.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apps.commands import api
from haocha import settings as settings_mod

FORMATS = ("table", "json", "csv", "xlsx", "html", "pdf")
MONTHLY_PATH = "/api/v1/reports/monthly"
STATS_PATH = "/api/v1/stats"
HEATMAP_PATH = "/api/v1/stats/heatmap"


ZONE_HELP = "without an offset: in HAOCHA_TIMEZONE"


class NoWorker(Exception):
    """Nothing listens at the worker's URL: fall back to the store."""


def register(sub) -> None:
    p = sub.add_parser("report", help="the monthly rectification-rate report and statistics")
    rs = p.add_subparsers(dest="report_command", required=True, metavar="REPORT")

    m = rs.add_parser("monthly", help="差评整改率月报: terminal table and .xlsx/.html/.pdf/.json/.csv files")
    m.add_argument("--month", default=None,
                   help="YYYY-MM, by when the review happened in HAOCHA_TIMEZONE (default: this month)")
    m.add_argument("--as-of", default=None, help="ISO time; the same as-of always gives the same figures (default: now)")
    m.add_argument("--format", default="all",
                   help="comma-separated: table,json,csv,xlsx,html,pdf or all (default all)")
    m.add_argument("--out", type=Path, default=Path("reports"), help="directory for the files (default ./reports)")
    m.add_argument("--rows", type=int, default=30, help="rows per table in the terminal (default 30)")
    m.set_defaults(func=run_monthly)

    s = rs.add_parser("stats", help="statistics per window, department or hall over any range")
    s.add_argument("--scope", choices=["window", "department", "hall"], default="department")
    s.add_argument("--granularity", choices=["hour", "day", "week", "month"], default="day")
    s.add_argument("--from", dest="start", help=f"ISO date/time, inclusive ({ZONE_HELP}; default: this month's start)")
    s.add_argument("--to", dest="end", help="ISO date/time, exclusive (default: now)")
    s.add_argument("--id", action="append", help="only these window/department/hall ids (repeatable)")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=run_stats)

    h = rs.add_parser("heatmap", help="satisfaction by weekday and hour of day")
    h.add_argument("--from", dest="start", help=f"ISO date/time, inclusive ({ZONE_HELP}; default: this month's start)")
    h.add_argument("--to", dest="end", help="ISO date/time, exclusive (default: now)")
    h.add_argument("--scope", choices=["window", "department", "hall"])
    h.add_argument("--id", dest="scope_id")
    h.set_defaults(func=run_heatmap)


# -- the worker's API, then the store -----------------------------------------------------------


def fetch_worker(settings, path: str, params: dict, timeout: float = 60.0):
    """JSON from the worker's API; NoWorker when nothing answers; an HTTP error is an error."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
    req = urllib.request.Request(f"{settings.worker_url.rstrip('/')}{path}?{query}",
                                 headers={"Accept": "application/json"})
    token = api.token(required=False)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code == 404 and path != MONTHLY_PATH:
            raise NoWorker(f"the worker has no {path}") from exc
        detail = exc.read().decode("utf-8", "replace")[:500]
        raise RuntimeError(f"the worker's API answered {exc.code} for {path}: {detail}") from exc
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        raise NoWorker(str(exc)) from exc


def open_store(settings):
    """The store, opened directly; a clear message when the worker holds it."""
    from sinks.clickhouse import ClickHouseStore, StoreLockedError

    try:
        store = ClickHouseStore(settings.dsn, settings.clickhouse_database, settings.timezone)
    except StoreLockedError as exc:
        raise RuntimeError(
            f"the store is locked: {exc} The worker did not answer at {settings.worker_url} either: "
            "is its HTTP API up (HAOCHA_API_URL / HAOCHA_API_PORT)?") from exc
    store.migrate()
    return store


def _formats(raw: str) -> list[str]:
    wanted = [f.strip().lower() for f in raw.split(",") if f.strip()]
    if "all" in wanted:
        return list(FORMATS)
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise ValueError(f"unknown format {', '.join(bad) or raw!r}: choose from {', '.join(FORMATS)} or all")
    return wanted


# -- monthly -------------------------------------------------------------------------------------


def get_monthly(settings, month: str | None, as_of: str | None):
    from apps.report.model import MonthlyReport
    from apps.report.monthly import month_bounds, parse_as_of

    month = month or datetime.now(ZoneInfo(settings.timezone)).strftime("%Y-%m")
    month_bounds(month)  # a bad month fails here, before any I/O
    t = parse_as_of(as_of)  # pin "now" once: the worker and the fallback give the same as-of
    try:
        data = fetch_worker(settings, MONTHLY_PATH, {"month": month, "as_of": t.isoformat()})
        return MonthlyReport.model_validate(data), f"worker {settings.worker_url}"
    except NoWorker:
        pass
    from haocha.adapters.calendar_cn import ChineseWorkingCalendar
    from haocha.domain.directory import Directory
    from apps.report.monthly import build_monthly_report

    store = open_store(settings)
    try:
        rep = build_monthly_report(store, month, t, Directory.load(settings.directory_file),
                                   ChineseWorkingCalendar(settings.calendar_overrides))
    finally:
        store.close()
    return rep, f"store {settings.dsn}"


def run_monthly(args) -> int:
    from apps.report.export import write_files
    from apps.report.render_text import render_text

    formats = _formats(args.format)
    settings = settings_mod.load()
    rep, source = get_monthly(settings, args.month, args.as_of)
    if "table" in formats:
        print(render_text(rep, limit=args.rows))
    files = write_files(rep, [f for f in formats if f != "table"], args.out)
    for f in files:
        print(f"wrote {f}")
    print(f"(from the {source})", file=sys.stderr)
    return 0


# -- stats ---------------------------------------------------------------------------------------


def time_range(settings, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """--from/--to as zone-aware times (the API wants a zone): a naive date or time is in
    settings.timezone; by default from this month's start to now."""
    tz = ZoneInfo(settings.timezone)
    now = datetime.now(tz)

    def parse(v: str) -> datetime:
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            raise ValueError(f"not an ISO date or time: {v!r} (e.g. 2021-05-01 or 2021-05-01T08:00+08:00)") from None
        return t if t.tzinfo else t.replace(tzinfo=tz)

    t0 = parse(start) if start else now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    t1 = parse(end) if end else now.replace(microsecond=0)
    if t1 <= t0:
        raise ValueError(f"--to ({t1.isoformat()}) is not after --from ({t0.isoformat()})")
    return t0, t1


def _stats_rows(settings, args) -> list[dict]:
    t0, t1 = time_range(settings, args.start, args.end)
    params = {"scope": args.scope, "granularity": args.granularity, "from": t0.isoformat(), "to": t1.isoformat(),
              "id": args.id}
    try:
        return fetch_worker(settings, STATS_PATH, params)["rows"]
    except NoWorker:
        pass
    from sinks import queries

    store = open_store(settings)
    try:
        rows = queries.stats(store, args.scope, args.granularity, t0, t1, args.id)
    finally:
        store.close()
    return json.loads(json.dumps(rows, default=str))


def run_stats(args) -> int:
    from haocha.domain.metrics import METRIC_BY_KEY, format_value
    from apps.report.render_text import format_table

    settings = settings_mod.load()
    rows = _stats_rows(settings, args)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    keys = ["reviews", "good_rate", "bad_count", "bad_rate", "satisfaction", "closed", "rectification_rate",
            "on_time_rate", "return_visit_rate"]
    headers = ["时段", {"window": "窗口", "department": "部门", "hall": "大厅"}[args.scope],
               *[METRIC_BY_KEY[k].label for k in keys]]
    body = [[api.local_time(r["bucket"], settings.timezone), r["id"], *[format_value(METRIC_BY_KEY[k], r.get(k)) for k in keys]] for r in rows]
    print(format_table(headers, body, [False, False] + [True] * len(keys)))
    return 0


def run_heatmap(args) -> int:
    from apps.report.render_text import format_table
    from sinks import queries

    settings = settings_mod.load()
    t0, t1 = time_range(settings, args.start, args.end)
    params = {"from": t0.isoformat(), "to": t1.isoformat(), "scope": args.scope, "id": args.scope_id}
    try:
        cells = fetch_worker(settings, HEATMAP_PATH, params)["cells"]
    except NoWorker:
        store = open_store(settings)
        try:
            cells = queries.heatmap(store, t0, t1, args.scope, args.scope_id)
        finally:
            store.close()
    grid = {(c["weekday"], c["hour"]): c["satisfaction"] for c in cells}
    days = ["一", "二", "三", "四", "五", "六", "日"]
    body = [[f"周{days[d - 1]}", *["" if grid.get((d, h)) is None else f"{grid[(d, h)]:.0f}" for h in range(24)]]
            for d in range(1, 8)]
    print(format_table(["", *[f"{h:02d}" for h in range(24)]], body, [False] + [True] * 24))
    return 0
