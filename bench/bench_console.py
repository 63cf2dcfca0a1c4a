"""Benchmark: the console's queue page with 100,000 tickets in ClickHouse.

    .venv/bin/python bench/bench_console.py [--tickets 100000] [--runs 9] [--keep DIR]

The tickets (and each one's TicketOpened, where the queue finds its reasons) are generated inside
the embedded store with INSERT ... SELECT FROM numbers() before the worker starts (the embedded
store opens in one process at a time): spread over the directory's windows, most of them still
open, their deadlines around now. Then a real worker serves the console and Debian's Chromium
(driven by Playwright) signs in and opens the queue again and again. Each run's time is from the
navigation's start to the first ticket row in the DOM (performance.now() taken by a
MutationObserver installed before the page's own scripts), so the sign-in is not in it. The queue
API is timed too: the first page, the last page, and the filters a person uses.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from _common import REPO, Broker, free_port, log  # noqa: F401  (REPO puts the checkout on sys.path)

import httpx  # noqa: E402

from apps.simulate.worker_process import WorkerProcess  # noqa: E402
from haocha.adapters.kafka import ensure_topics  # noqa: E402
from haocha.auth.tokens import hash_secret  # noqa: E402
from haocha.auth.users import UserFile  # noqa: E402
from haocha.domain.directory import Directory  # noqa: E402
from haocha.settings import PACKAGE_DATA, Settings  # noqa: E402
from sinks.clickhouse import ClickHouseStore  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "Haocha-bench-1"
# The first ticket row's time since navigation start, recorded by the page itself.
FIRST_ROW = """
new MutationObserver((_, obs) => {
  if (document.querySelector('tr.ticket-row')) { window.__firstRow = performance.now(); obs.disconnect() }
}).observe(document, {childList: true, subtree: true})
"""
# The last run's milestones (ms since navigation start): the page's scripts, then each API call.
WHERE_THE_TIME_GOES = """() => {
  const nav = performance.getEntriesByType('navigation')[0]
  const api = performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/'))
    .map((r) => `${new URL(r.name).pathname.replace('/api/v1/', '')} ${r.startTime.toFixed(0)}-${r.responseEnd.toFixed(0)}`)
  return `DOMContentLoaded ${nav.domContentLoadedEventEnd.toFixed(0)}; ${api.join('; ')}; first row ${window.__firstRow.toFixed(0)}`
}"""
STATES = "['opened','assigned','contacted','rectified','feedback_given','appealed','closed','invalidated']"


def fill(store: ClickHouseStore, directory: Directory, n: int) -> None:
    wins = list(directory.windows.values())
    halls = "[" + ",".join(f"'{w.hall_id}'" for w in wins) + "]"
    ids = "[" + ",".join(f"'{w.window_id}'" for w in wins) + "]"
    depts = "[" + ",".join(f"'{w.department_id}'" for w in wins) + "]"
    # Most tickets open (the queue's worst case: every row has a running deadline to sort by).
    state = f"arrayElement({STATES}, toUInt32(multiIf(h % 100 < 40, 1, h % 100 < 60, 2, h % 100 < 70, 3, " \
            "h % 100 < 75, 4, h % 100 < 80, 5, h % 100 < 82, 6, h % 100 < 98, 7, 8)))"
    store.command(f"""
        INSERT INTO {store.db}.tickets
        SELECT concat('TK-B', toString(number)), 1 + (h % 6), st, concat('B', toString(number)),
               arrayElement({halls}, w), arrayElement({ids}, w), arrayElement({depts}, w),
               toUInt8(1 + h % 2), (h % 10) < 6, happened, happened + toIntervalSecond(2),
               happened + toIntervalDay(1), happened + toIntervalDay(7),
               if(st = 'opened', NULL, concat('o-', toString(w))), 0, NULL, NULL, NULL, NULL, NULL,
               if(st = 'closed', happened + toIntervalDay(3), NULL),
               if(st = 'closed', 'rectified', NULL), NULL, if(st = 'invalidated', 'appeal upheld', NULL), 0,
               if(h % 7 = 0, ['contact:50'], []), if(h % 23 = 0, ['contact'], [])
        FROM (SELECT number, cityHash64(number) AS h, toUInt32(h % {len(wins)}) + 1 AS w, {state} AS st,
                     now64(3) - toIntervalSecond(intDiv(h, 1000) % (20 * 86400)) AS happened
              FROM numbers({n}))""")
    store.command(f"""
        INSERT INTO {store.db}.ticket_events
        SELECT concat(ticket_id, ':1'), ticket_id, 1, 'TicketOpened', opened_at, opened_at, 'haocha', 'system',
               concat('open:', ticket_id),
               concat('{{"type":"TicketOpened","rating":', toString(rating), ',"reasons":',
                      if(cityHash64(ticket_id) % 2 = 0, '["态度差","等候时间长"]', '["效率低"]'), '}}')
        FROM {store.db}.tickets""")


def stats(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return f"median {statistics.median(xs):7.1f} ms  p95 {p95:7.1f} ms  (n={len(xs)}, min {xs[0]:.1f}, max {xs[-1]:.1f})"


def time_api(url: str, headers: dict, runs: int) -> None:
    cases = [("first page", {"limit": 50, "offset": 0}),
             ("last page (offset 99950)", {"limit": 50, "offset": 99950}),
             ("state=opened", {"state": "opened", "limit": 50}),
             ("overdue=true", {"overdue": "true", "limit": 50}),
             ("q=态度 (reason text)", {"q": "态度", "limit": 50}),
             ("window=H-CY-W01", {"window": "H-CY-W01", "limit": 50}),
             ("department=D-ZSJ offset 5000", {"department": "D-ZSJ", "limit": 50, "offset": 5000})]
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for label, params in cases:
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                r = client.get("/api/v1/tickets", params=params)
                times.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
            print(f"GET /api/v1/tickets {label:32s} total={r.json()['total']:>7,}  {stats(times)}", flush=True)


def time_page(url: str, user: str, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        ctx.add_init_script(FIRST_ROW)
        page = ctx.new_page()
        page.goto(f"{url}/console/login")
        page.get_by_test_id("login-user").fill(user)
        page.get_by_test_id("login-password").fill(PASSWORD)
        page.get_by_test_id("login-submit").click()
        page.wait_for_selector("tr.ticket-row", timeout=120_000)
        for i in range(runs + 1):  # the first load warms the HTTP cache of the assets, like a second visit
            page.goto(f"{url}/console/tickets")
            page.wait_for_selector("tr.ticket-row", timeout=120_000)
            at = page.evaluate("window.__firstRow")
            if i:
                out.append(at)
        total = page.get_by_test_id("queue-pager").inner_text()
        where = page.evaluate(WHERE_THE_TIME_GOES)
        browser.close()
    print(f"queue page as {user:8s} ({total.split()[0] if total else '?'}): {stats(out)}", flush=True)
    print(f"  last run: {where}", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--keep", type=Path, help="keep the data directory here")
    args = ap.parse_args()
    path = args.keep or Path(tempfile.mkdtemp(prefix="haocha-bench-console-"))
    with Broker() as broker:
        run = uuid.uuid4().hex[:8]
        s = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=f"bench{run}", app_id=f"haocha-bench{run}",
                     data_dir=path / "data", partitions=2, api_port=free_port(), gateway_port=free_port(),
                     deadline_sweep_seconds=0)
        asyncio.run(ensure_topics(s))
        store = ClickHouseStore(s.dsn, s.clickhouse_database)
        try:
            store.migrate()
            t0 = time.perf_counter()
            fill(store, Directory.load(PACKAGE_DATA / "directory.json"), args.tickets)
            n = store.query("SELECT count() FROM {db}.tickets FINAL")[0][0]
            log(f"{n:,} tickets in ClickHouse in {time.perf_counter() - t0:.1f}s")
        finally:
            store.close()
        users = UserFile(s.users_path(s.data_dir))
        digest = hash_secret(PASSWORD)
        users.add("s-bench", "supervisor", name="督办", password_hash=digest)
        users.add("o-bench", "officer", "D-ZSJ", name="整改", password_hash=digest)
        token = users.add("m-bench", "manager")
        worker = WorkerProcess(s, path / "worker.log").start()
        try:
            worker.wait_ready(180)
            time_api(worker.url, {"Authorization": f"Bearer {token}"}, args.runs)
            sup = time_page(worker.url, "s-bench", args.runs)
            off = time_page(worker.url, "o-bench", args.runs)
            print(f"RESULT tickets={n:,} queue_first_row_median_ms={statistics.median(sup):.0f} "
                  f"(supervisor, all tickets) officer_median_ms={statistics.median(off):.0f}")
        finally:
            worker.stop()
    if not args.keep:
        shutil.rmtree(path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
