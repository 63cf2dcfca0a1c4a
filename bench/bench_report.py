"""Benchmark: the monthly report over 1M and 10M reviews (or --rows N), median of --runs runs.

    .venv/bin/python bench/bench_report.py                      # 1M and 10M
    .venv/bin/python bench/bench_report.py --rows 100000000     # 100M (make bench-report-100m)

Reviews and their tickets are generated inside ClickHouse (INSERT ... SELECT FROM numbers()) once
per size into a reusable embedded store, .run/bench/report-<rows> (--dir elsewhere; skipped if
present; --fresh regenerates), in steps of 2M reviews whose cost does not grow with the store
(progress printed per step): ~10% bad reviews, each with a ticket (opened, assigned, contacted when
real-name, 85% closed, 3% invalidated by an upheld appeal), 2% late reviews, 2% uncounted. The materialized views
fill the report's rollups as the rows go in, as they do in production.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from haocha.adapters.calendar_cn import ChineseWorkingCalendar  # noqa: E402
from haocha.domain.directory import Directory  # noqa: E402
from apps.report import monthly  # noqa: E402
from haocha.settings import PACKAGE_DATA  # noqa: E402
from sinks import report_sql  # noqa: E402
from sinks.clickhouse import ClickHouseStore  # noqa: E402

RUN = Path(__file__).resolve().parent.parent / ".run" / "bench"
SH = ZoneInfo("Asia/Shanghai")
MONTH, AS_OF = "2021-05", datetime(2021, 6, 10, 12, 0, tzinfo=SH)
MONTH_START = "toDateTime64('2021-05-01 00:00:00', 3, 'Asia/Shanghai')"
MONTH_SECONDS = 31 * 86400


def generated_reviews(directory: Directory, first: int, count: int) -> str:
    """The SELECT of the reviews numbered [first, first + count), in the reviews table's column
    order. The ticket events select from it too, so a ticket's facts are its review's."""
    wins = list(directory.windows.values())
    halls = "[" + ",".join(f"'{w.hall_id}'" for w in wins) + "]"
    ids = "[" + ",".join(f"'{w.window_id}'" for w in wins) + "]"
    depts = "[" + ",".join(f"'{w.department_id}'" for w in wins) + "]"
    n = len(wins)
    return f"""
        SELECT
            concat('B', toString(number)) AS review_id,
            concat('C', toString(number)) AS case_no,
            'pad' AS channel,
            arrayElement({halls}, w) AS hall_id,
            arrayElement({ids}, w) AS window_id,
            arrayElement({depts}, w) AS department_id,
            NULL AS staff_id, NULL AS item_code, NULL AS item_name,
            r AS rating,
            transform(r, [5, 4, 3, 2, 1], [100, 80, 60, 30, 0], 0) AS score,
            if(r <= 2, ['态度差'], []) AS reasons,
            NULL AS comment,
            real AS real_name,
            if(real, '138****0000', NULL) AS phone_masked,
            happened AS happened_at,
            happened + toIntervalSecond(if(h % 50 = 0, 86400 * 20, 30)) AS received_at,
            happened + toIntervalSecond(31) AS classified_at,
            concat('pad-', arrayElement({ids}, w)) AS terminal_id,
            NULL AS follow_up_of,
            if(counted, 'counted', 'repeat_press') AS classification,
            counted,
            if(counted AND r <= 2, concat('T', toString(number)), NULL) AS ticket_id,
            '' AS note
        FROM (
            SELECT number, cityHash64(number) AS h,
                   toUInt32(h % {n}) + 1 AS w,
                   toUInt8(multiIf(h % 100 < 50, 5, h % 100 < 75, 4, h % 100 < 90, 3, h % 100 < 95, 2, 1)) AS r,
                   (intDiv(h, 100) % 10) < 6 AS real,
                   (intDiv(h, 1000) % 50) != 0 AS counted,
                   {MONTH_START} + toIntervalSecond(intDiv(h, 100000) % {MONTH_SECONDS}) AS happened
            FROM numbers({first}, {count})
        )"""


def insert_reviews(store: ClickHouseStore, directory: Directory, first: int, count: int) -> None:
    store.command(f"INSERT INTO {store.db}.reviews {generated_reviews(directory, first, count)}")


def insert_ticket_events(store: ClickHouseStore, directory: Directory, first: int, count: int) -> None:
    """Ticket histories for the bad counted reviews numbered [first, first + count): computed from
    the generated reviews again, not read back from the table, so each step costs the same. One
    INSERT per version, in version order, as the writer delivers a ticket's events."""
    base = f"FROM ({generated_reviews(directory, first, count)}) WHERE ticket_id IS NOT NULL"
    h = "cityHash64(review_id)"
    opened = "received_at + toIntervalSecond(1)"
    due = f"{opened} + toIntervalDay(7)"

    def ins(version: int, typ: str, at: str, payload: str, where: str = "1") -> None:
        store.command(f"""
            INSERT INTO {store.db}.ticket_events
            SELECT concat(ticket_id, ':{version}'), assumeNotNull(ticket_id), {version}, '{typ}', {at},
                   {at} + toIntervalMillisecond(200), 'bench', 'officer', concat(ticket_id, '-c{version}'),
                   {payload}
            {base} AND ({where})""")

    iso = "'%Y-%m-%dT%H:%i:%S+08:00'"
    ins(1, "TicketOpened", opened,  # the review's facts, as the ticket agent's TicketOpened has them
        f"concat('{{\"type\":\"TicketOpened\",\"review_id\":\"', review_id, '\",\"hall_id\":\"', hall_id, "
        f"'\",\"window_id\":\"', window_id, '\",\"department_id\":\"', department_id, '\",\"rating\":', "
        f"toString(rating), ',\"real_name\":', if(real_name, 'true', 'false'), ',\"happened_at\":\"', "
        f"formatDateTime(happened_at, {iso}), '\",\"resolve_due\":\"', formatDateTime({due}, {iso}), '\"}}')")
    ins(2, "TicketAssigned", f"{opened} + toIntervalHour(2)", "'{\"type\":\"TicketAssigned\"}'")
    ins(3, "ContactRecorded", f"{opened} + toIntervalHour(20)",
        "'{\"type\":\"ContactRecorded\",\"reached\":true}'", "real_name")
    ins(4, "AppealDecided", f"{opened} + toIntervalHour(30)",
        "'{\"type\":\"AppealDecided\",\"upheld\":true}'", f"{h} % 100 < 3")
    ins(5, "TicketClosed", f"{opened} + toIntervalHour(24 + {h} % 240)",
        "'{\"type\":\"TicketClosed\",\"resolution\":\"rectified\"}'", f"{h} % 100 >= 3 AND {h} % 100 < 88")


def _median(f, runs: int) -> tuple[float, float, object]:
    """Median wall time and median CPU time (this process: the embedded ClickHouse's threads
    included, steadier than wall time on a shared machine) of runs calls of f."""
    times, cpu, out = [], [], None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        out = f()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times), statistics.median(cpu), out


def timed_report(store, directory, calendar, label: str, runs: int) -> dict[str, float]:
    """The median time of the whole report and of each of its parts (the figures, the first and
    the second page of open tickets, the carry-over)."""
    _, _, _, params = monthly.report_params(store, MONTH, AS_OF, calendar)
    parts = {
        "figures": lambda: monthly.figures(store, params),
        "open_page_1": lambda: monthly.open_tickets_page(store, MONTH, AS_OF, directory, calendar),
        "open_page_2": lambda: monthly.open_tickets_page(store, MONTH, AS_OF, directory, calendar,
                                                         offset=monthly.OPEN_PAGE),
        "carry_over": lambda: store.query_dicts(report_sql.carry_over(), params),
        "report": lambda: monthly.build_monthly_report(store, MONTH, AS_OF, directory, calendar),
    }
    out = {}
    for name, f in parts.items():
        out[name], cpu, got = _median(f, runs)
        print(f"  {label} {name}: {out[name]:.3f}s wall, {cpu:.3f}s CPU (target < 1 s)", flush=True)
    rep = got
    print(f"{label}: reviews={rep.totals.reviews:,} bad={rep.totals.bad_count:,} "
          f"rectification={rep.totals.rectification_rate:.4f} open={rep.notes.open_tickets:,} "
          f"overdue={rep.notes.overdue_tickets:,} invalidated={rep.notes.invalidated:,} late={rep.notes.late_reviews:,} "
          f"(first page {len(rep.open_tickets):,}) report median={out['report']:.3f}s", flush=True)
    return out


def store_for(rows: int, directory: Directory, fresh: bool, where: Path = RUN) -> ClickHouseStore:
    """The embedded store holding `rows` generated reviews, generated now only if it is not there."""
    path = (where / f"report-{rows}").resolve()  # a chdb:// DSN wants an absolute path
    done = path / "generated"
    if fresh or not done.exists():
        shutil.rmtree(path, ignore_errors=True)
    store = ClickHouseStore(f"chdb://{path}", "haocha_bench")
    t0 = time.perf_counter()
    store.migrate()  # on a store generated before a view was added, this fills it (once)
    print(f"migrated {path} in {time.perf_counter() - t0:.1f}s", flush=True)
    if not done.exists():
        generate(store, directory, rows)
        done.write_text(f"{rows}\n")
        print(f"generated {rows:,} reviews + tickets into {path}", flush=True)
    else:
        print(f"reusing {path}", flush=True)
    return store


def generate(store: ClickHouseStore, directory: Directory, rows: int, step: int = 2_000_000) -> None:
    """Reviews and ticket events in steps of `step` reviews, with progress per step (100M is long)."""
    t0 = time.perf_counter()
    for first in range(0, rows, step):
        t = time.perf_counter()
        n = min(step, rows - first)
        insert_reviews(store, directory, first, n)
        insert_ticket_events(store, directory, first, n)
        now = time.perf_counter()
        so_far, rate = first + n, (first + n) / (now - t0)
        print(f"  {so_far:,}/{rows:,} reviews: step {n / (now - t):,.0f} rows/s, overall {rate:,.0f} rows/s, "
              f"{now - t0:.0f}s elapsed, ETA {(rows - so_far) / rate:.0f}s", flush=True)
    print(f"generation of {rows:,} reviews took {time.perf_counter() - t0:.1f}s", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--fresh", action="store_true", help="regenerate the stores")
    ap.add_argument("--dir", type=Path, default=RUN, help="where the stores are kept (report-<rows>)")
    args = ap.parse_args()

    directory = Directory.load(PACKAGE_DATA / "directory.json")
    calendar = ChineseWorkingCalendar()
    results = []
    for rows in args.rows:
        store = store_for(rows, directory, args.fresh, args.dir)
        try:
            results.append((rows, timed_report(store, directory, calendar, f"report over {rows:,}", args.runs)))
        finally:
            store.close()
    print("RESULT " + " ".join(f"{name}_{rows:,}={t:.3f}s" for rows, parts in results for name, t in parts.items())
          + " (target < 1 s for every figure at 10M)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
