"""The web console in a real headless Chromium (Debian's, driven by Playwright) against a real
worker, the real broker and the embedded ClickHouse: officers, a supervisor, a manager and an admin
do their work in the browser, and the report counts it.

One worker serves the whole module (its start-up is the slow part); a second one with a session
idle timeout of seconds serves the expiry test. Each test works its own tickets, so the order of
the tests does not matter. With HAOCHA_SCREENSHOTS=1 the pages' screenshots are written to
docs/console/ (the committed ones), else to a temporary directory."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from haocha.adapters.kafka import ensure_topics, produce_all
from haocha.adapters.net import free_port
from haocha.auth.tokens import hash_secret
from haocha.auth.users import UserFile
from haocha.domain.calendar import SHANGHAI
from haocha.settings import Settings
from schemas.topics import REVIEWS_SUBMITTED
from tests.conftest import WorkerHandle

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(300)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP, TABLET = {"width": 1366, "height": 768}, {"width": 1024, "height": 768}
PASSWORD = "Haocha-console-1"
PHONE, MASKED = "13912345678", "139****5678"
REPO = Path(__file__).resolve().parents[2]
USERS = (("o-li", "李明", "officer", "D-ZSJ"), ("o-wang", "王芳", "officer", "D-ZSJ"),
         ("o-zhao", "赵强", "officer", "D-CZJ"), ("s-chen", "陈督办", "supervisor", None),
         ("m-sun", "孙主任", "manager", None), ("a-root", "周敏", "admin", None))
# One 1x1 PNG: the evidence file the officer uploads.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d4944415478da63f8cfc0f01f0005000201a3e1b1c60000000049454e44ae426082")


def _settings(tmp: Path, kafka: str, **overrides) -> Settings:
    run = uuid.uuid4().hex[:8]
    s = Settings(**{**dict(kafka_bootstrap=kafka, topic_prefix=f"t{run}", app_id=f"haocha-t{run}",
                           data_dir=tmp / f"data-{run}", partitions=2, api_port=free_port(),
                           gateway_port=free_port(), deadline_sweep_seconds=0), **overrides})
    asyncio.run(ensure_topics(s))
    return s


def _off_loop(coro_fn):
    """Run a coroutine on a thread of its own: Playwright's sync API holds this thread's loop."""
    out: list = []
    th = threading.Thread(target=lambda: out.append(asyncio.run(coro_fn())))
    th.start()
    th.join(120)
    return out[0] if out else None


def review(rid: str, window: str, rating: int = 1, at: datetime | None = None, **extra) -> tuple[bytes, bytes]:
    at = at or datetime.now(SHANGHAI) - timedelta(minutes=30)
    body = {"review_id": rid, "case_no": f"C-{rid}", "channel": "pad", "hall_id": window.rsplit("-", 1)[0],
            "window_id": window, "rating": rating, "happened_at": at.isoformat(),
            "received_at": (at + timedelta(seconds=2)).isoformat(), "terminal_id": f"PAD-{window}",
            "staff_id": "S-0101", "item_name": "政务服务咨询", **extra}
    return body["hall_id"].encode(), orjson.dumps(body)


def bad(rid: str, window: str, comment: str = "窗口人员态度冷淡，请回电 13912345678") -> tuple[bytes, bytes]:
    return review(rid, window, rating=1, reasons=["态度差", "等候时间长"], comment=comment,
                  evaluator={"real_name": True, "phone": PHONE})


def eventually(fn, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


class Console:
    """The module's worker and what the tests need around it."""

    def __init__(self, worker: WorkerHandle, shots: Path):
        self.w, self.url, self.shots = worker, worker.url, shots

    def api(self, method: str, path: str, **kw) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", headers=self.w.admin_headers, **{"timeout": 60, **kw})

    def produce(self, *messages) -> None:
        s = self.w.settings
        _off_loop(lambda: produce_all(s, s.topic(REVIEWS_SUBMITTED.name), list(messages)))

    def ticket(self, tid: str) -> dict | None:
        r = self.api("GET", f"/api/v1/tickets/{tid}", params={"fresh": "true"})
        return r.json() if r.status_code == 200 else None

    def wait_ticket(self, tid: str, timeout: float = 90.0, **fields) -> dict:
        def ready():
            t = self.ticket(tid)
            return t if t and all(t.get(k) == v for k, v in fields.items()) else None
        return eventually(ready, timeout, f"{tid} with {fields}")

    def command(self, tid: str, body: dict, user: str) -> httpx.Response:
        token = self.tokens[user]
        return httpx.post(f"{self.url}/api/v1/tickets/{tid}/commands", json=body,
                          headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def report(self, department: str) -> dict:
        month = datetime.now(SHANGHAI).strftime("%Y-%m")
        r = self.api("GET", "/api/v1/reports/monthly", params={"month": month}, timeout=120)
        assert r.status_code == 200, r.text
        return next(d for d in r.json()["departments"] if d["id"] == department)

    def shot(self, page, name: str, whole: bool = False) -> None:
        """The page as the screen shows it; `whole` also writes NAME-full.png, the viewport
        stretched to the page's length (the console scrolls inside its main pane, not the window)."""
        page.wait_for_load_state("networkidle")
        page.mouse.move(1, 767)  # no hover tooltip
        page.wait_for_timeout(300)  # transitions (dialogs, drawers, tabs) settle
        page.screenshot(path=str(self.shots / f"{name}.png"))
        if whole:
            size = page.viewport_size
            tall = page.evaluate("Math.max(...[...document.querySelectorAll('.main, body')].map(e => e.scrollHeight + e.offsetTop))")
            page.set_viewport_size({"width": size["width"], "height": max(size["height"], tall)})
            page.wait_for_timeout(300)
            page.screenshot(path=str(self.shots / f"{name}-full.png"))
            page.set_viewport_size(size)


def add_users(settings: Settings) -> dict[str, str]:
    """The officer 李明 is added as a person would be, with `haocha user add --password-stdin`; the
    others straight into the users file the worker reads."""
    env = {**os.environ, **settings.as_env()}
    done = subprocess.run([sys.executable, "-m", "apps.cli", "user", "add", "o-li", "--role", "officer",
                           "--department", "D-ZSJ", "--name", "李明", "--password-stdin"],
                          input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    tokens = {"o-li": done.stdout.split()[0]}
    users = UserFile(settings.users_path(settings.data_dir))
    digest = hash_secret(PASSWORD)
    for uid, name, role, dept in USERS[1:]:
        tokens[uid] = users.add(uid, role, dept, name=name, password_hash=digest)
    return tokens


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (never `playwright install`)")
    return CHROMIUM


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = REPO / "docs" / "console" if os.environ.get("HAOCHA_SCREENSHOTS") == "1" else tmp_path_factory.mktemp("shots")
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture(scope="module")
def workers(tmp_path_factory, kafka_bootstrap):
    """The module's worker and the short-session one, started together (start-up dominates)."""
    tmp = tmp_path_factory.mktemp("console")
    main = _settings(tmp, kafka_bootstrap)
    short = _settings(tmp, kafka_bootstrap, session_idle_minutes=0.05)  # 3 s unused
    handles = [WorkerHandle(main), WorkerHandle(short)]
    try:
        tokens = [add_users(main), add_users(short)]
        for h in handles:
            h.wait_ready()
        yield list(zip(handles, tokens))
    finally:
        for h in handles:
            h.terminate()


@pytest.fixture(scope="module")
def console(workers, shots) -> Console:
    (w, tokens), _ = workers
    c = Console(w, shots)
    c.tokens = tokens
    c.produce(*[bad(f"R-ZSJ-{i}", "H-CY-W01") for i in range(1, 7)],
              bad("R-ZSJ-7", "H-CY-W02", comment="材料要求不合理，多次跑"),
              bad("R-CZJ-1", "H-CY-W03", comment="等了一个小时"),
              *[review(f"R-OK-{i}", "H-CY-W01", rating=5) for i in range(3)])
    for tid in ("TK-R-ZSJ-1", "TK-R-ZSJ-7", "TK-R-CZJ-1"):
        c.wait_ticket(tid)
    c.api("POST", "/api/v1/admin/terminals", json={"terminal_id": "PAD-CY-01", "kind": "pad",
                                                   "hall_id": "H-CY", "window_id": "H-CY-W01"})
    c.api("POST", "/api/v1/admin/terminals", json={"terminal_id": "KIOSK-CY-01", "kind": "kiosk",
                                                   "hall_id": "H-CY", "window_id": "H-CY-W03"})
    return c


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser):
    """open_page(viewport=DESKTOP) -> a page in a fresh context (its own cookies: one person)."""
    contexts = []

    def factory(viewport=DESKTOP):
        ctx = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        ctx.set_default_timeout(20000)
        contexts.append(ctx)
        return ctx.new_page()

    yield factory
    for ctx in contexts:
        ctx.close()


def sign_in(page, base: str, user: str, password: str = PASSWORD, shot=None) -> None:
    page.goto(f"{base}/console/login")
    page.get_by_test_id("login-user").fill(user)
    page.get_by_test_id("login-password").fill(password)
    if shot:
        shot(page, "sign-in")
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(re.compile(r"/console/(?!login)"))
    page.get_by_test_id("current-user").wait_for()


def run_command(page, kind: str, fill=None) -> None:
    page.get_by_test_id(f"cmd-{kind}").click()
    dialog = page.get_by_test_id("cmd-dialog")
    dialog.wait_for()
    if fill:
        fill(page)
    page.get_by_test_id("cmd-submit").click()


def choose(page, testid: str, label: str) -> None:
    page.get_by_test_id(testid).get_by_text(label, exact=True).click()


def expect_status(page, label: str, version: int) -> None:
    from playwright.sync_api import expect

    try:
        expect(page.get_by_test_id("ticket-status")).to_have_text(label, timeout=20000)
    except AssertionError:
        page.screenshot(path="/tmp/fail.png", full_page=True)
        raise
    expect(page.get_by_test_id("ticket-version")).to_contain_text(str(version))


# -- the tests ------------------------------------------------------------------------------


def test_officer_works_a_ticket_to_closure_and_the_report_counts_it(console, open_page):
    from playwright.sync_api import expect

    c, tid = console, "TK-R-ZSJ-1"
    closed_before = c.report("D-ZSJ")["closed"]
    page = open_page()
    sign_in(page, c.url, "o-li", shot=c.shot)

    # the queue: only the own department's tickets
    page.get_by_test_id(f"ticket-row-{tid}").wait_for()
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "open")
    rows = page.locator("tr.ticket-row [data-testid^='ticket-row-']").all_inner_texts()
    assert "TK-R-ZSJ-7" in rows and "TK-R-CZJ-1" not in rows, rows
    assert PHONE not in page.content()

    page.get_by_test_id(f"ticket-row-{tid}").click()
    page.wait_for_url(f"**/console/tickets/{tid}")
    expect_status(page, "待分派", 1)
    assert PHONE not in page.content() and MASKED in page.content()  # masked in the comment too
    expect(page.get_by_test_id("phone-reveal")).to_have_count(0)  # nobody handles it yet

    run_command(page, "ClaimTicket")
    expect_status(page, "已分派", 2)
    run_command(page, "RecordContact", lambda p: (choose(p, "cmd-field-reached", "已联系上"),
                                                  choose(p, "cmd-field-verdict", "属实"),
                                                  p.get_by_test_id("cmd-field-note").fill("已电话回访，评价人反映属实")))
    expect_status(page, "已回访", 3)

    def rectify(p):
        p.get_by_test_id("cmd-field-measures").fill("窗口人员服务规范培训，增设叫号提醒")
        p.get_by_test_id("cmd-field-evidence").locator("input[type=file]").set_input_files(
            {"name": "培训签到表.png", "mimeType": "image/png", "buffer": PNG})
        expect(p.get_by_test_id("cmd-field-evidence").get_by_text("培训签到表.png")).to_be_visible()
        p.locator(".el-upload-list__item.is-success").wait_for()
    run_command(page, "RecordRectification", rectify)
    expect_status(page, "已整改", 4)
    evidence = page.locator("[data-testid^='evidence-']")
    expect(evidence).to_have_count(1)
    expect(evidence).to_contain_text("培训签到表.png")
    href = evidence.get_attribute("href")
    got = page.request.get(f"{c.url}{href}" if href.startswith("/") else href)
    assert got.status == 200 and got.body() == PNG

    run_command(page, "GiveFeedback", lambda p: p.get_by_test_id("cmd-field-message").fill("已整改完毕，感谢您的监督"))
    expect_status(page, "已反馈", 5)
    page.reload()  # the screenshot without the toasts of the steps above
    expect(page.get_by_test_id("event-5")).to_be_visible()
    c.shot(page, "ticket-detail", whole=True)
    run_command(page, "CloseTicket")
    expect_status(page, "已办结", 6)
    timeline = page.get_by_test_id("ticket-timeline")
    for title in ("工单生成", "已分派给", "回访（已联系，第 1 次）：属实", "整改措施", "已反馈", "办结（整改办结）"):
        expect(timeline).to_contain_text(title)

    # the monthly report through the API counts it closed
    eventually(lambda: c.report("D-ZSJ")["closed"] == closed_before + 1, 60, "the report to count the closure")


def test_second_officer_with_a_stale_version_sees_the_conflict(console, open_page):
    from playwright.sync_api import expect

    c, tid = console, "TK-R-ZSJ-2"
    li, wang = open_page(), open_page()
    sign_in(li, c.url, "o-li")
    sign_in(wang, c.url, "o-wang")
    for p in (li, wang):
        p.goto(f"{c.url}/console/tickets/{tid}")
        expect_status(p, "待分派", 1)
    run_command(li, "ClaimTicket")
    expect_status(li, "已分派", 2)

    run_command(wang, "ClaimTicket")  # the page still shows version 1
    expect(wang.get_by_test_id("conflict-message")).to_be_visible()
    expect(wang.get_by_test_id("conflict-message")).to_contain_text("已被他人处理")
    expect_status(wang, "已分派", 2)  # refreshed, not overwritten
    expect(wang.get_by_test_id("cmd-ClaimTicket")).to_have_count(0)
    assert c.ticket(tid)["officer_id"] == "o-li"


def test_an_officer_cannot_open_another_departments_ticket_by_url(console, open_page):
    from playwright.sync_api import expect

    c = console
    page = open_page()
    sign_in(page, c.url, "o-zhao")
    page.get_by_test_id("ticket-row-TK-R-CZJ-1").wait_for()
    page.goto(f"{c.url}/console/tickets/TK-R-ZSJ-3")
    expect(page.get_by_test_id("detail-forbidden")).to_contain_text("无权限")
    expect(page.get_by_test_id("ticket-id")).to_have_count(0)
    body = page.content()
    assert "态度冷淡" not in body and MASKED not in body and "H-CY-W01" not in body


def test_supervisor_upholds_an_appeal_and_the_review_leaves_the_denominator(console, open_page):
    from playwright.sync_api import expect

    c, tid = console, "TK-R-ZSJ-3"
    before = c.report("D-ZSJ")
    assert c.command(tid, {"kind": "ClaimTicket"}, "o-li").status_code == 200
    page = open_page()
    sign_in(page, c.url, "o-li")
    page.goto(f"{c.url}/console/tickets/{tid}")
    expect_status(page, "已分派", 2)
    run_command(page, "FileAppeal", lambda p: (choose(p, "cmd-field-ground", "恶意评价"),
                                              p.get_by_test_id("cmd-field-argument").fill("同一人当日连续三次差评，监控显示未办理业务")))
    expect_status(page, "申诉中", 3)

    sup = open_page()
    sign_in(sup, c.url, "s-chen")
    sup.goto(f"{c.url}/console/supervisor")
    sup.get_by_test_id(f"ticket-row-{tid}").wait_for()
    c.shot(sup, "supervisor-inbox")
    sup.get_by_test_id(f"sup-decide-{tid}").click()
    drawer = sup.get_by_test_id("supervisor-drawer")
    expect(drawer).to_contain_text("同一人当日连续三次差评")
    c.shot(sup, "supervisor-appeal")
    drawer.get_by_test_id("cmd-DecideAppeal").click()
    sup.get_by_test_id("cmd-dialog").wait_for()
    choose(sup, "cmd-field-upheld", "维持申诉（评价作废）")
    sup.get_by_test_id("cmd-field-reason").fill("经核查监控，属恶意差评")
    sup.get_by_test_id("cmd-submit").click()
    c.wait_ticket(tid, status="invalidated")

    def left():
        now = c.report("D-ZSJ")
        return now["reviews"] == before["reviews"] - 1 and now["bad_count"] == before["bad_count"] - 1 and now
    after = eventually(left, 60, "the upheld review to leave the figures")
    assert after["bad_rate"] == pytest.approx(after["bad_count"] / after["reviews"])


def test_a_set_password_link_from_the_cli_lets_a_new_officer_sign_in(console, open_page):
    c = console
    env = {**os.environ, **c.w.settings.as_env()}
    done = subprocess.run([sys.executable, "-m", "apps.cli", "user", "add", "o-new", "--role", "officer",
                           "--department", "D-CZJ", "--name", "钱新", "--set-password-link"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    link = done.stdout.split()[1]
    assert link.startswith(f"{c.url}/console/")
    page = open_page()
    page.goto(link)
    page.wait_for_url("**/console/password?token=*")
    page.get_by_test_id("password-new").fill("Qian-Xin-2024!")
    page.get_by_test_id("password-confirm").fill("Qian-Xin-2024!")
    page.get_by_test_id("password-submit").click()
    page.wait_for_url("**/console/login*")
    sign_in(page, c.url, "o-new", password="Qian-Xin-2024!")
    page.get_by_test_id("ticket-row-TK-R-CZJ-1").wait_for()


def test_csrf_is_enforced_on_state_changing_requests(console, open_page):
    c, tid = console, "TK-R-ZSJ-4"
    page = open_page()
    sign_in(page, c.url, "o-li")
    sent = page.evaluate("""async (tid) => {
        const r = await fetch(`/api/v1/tickets/${tid}/commands`, {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json'}, body: JSON.stringify({kind: 'ClaimTicket'})})
        const out = await fetch('/api/v1/session', {method: 'DELETE', credentials: 'same-origin'})
        return [r.status, (await r.json()).code, out.status]
    }""", tid)
    assert sent == [403, "csrf", 403]
    assert c.ticket(tid)["version"] == 1  # nothing happened
    assert page.evaluate("async () => (await fetch('/api/v1/session')).status") == 200  # still signed in


def test_the_console_returns_to_sign_in_when_the_session_expires(workers, open_page):
    from playwright.sync_api import expect

    _, (short, _tokens) = workers
    page = open_page()
    sign_in(page, short.url, "o-li")
    page.get_by_test_id("queue-table").wait_for()
    time.sleep(4)  # the session's idle timeout is 3 s
    page.get_by_test_id("queue-refresh").click()
    page.wait_for_url(re.compile(r"/console/login"))
    expect(page.get_by_test_id("login-notice")).to_contain_text("会话已过期")


def test_new_tickets_appear_in_the_queue_without_a_reload(console, open_page):
    c = console
    page = open_page()
    sign_in(page, c.url, "o-wang")
    page.get_by_test_id("ticket-row-TK-R-ZSJ-7").wait_for()
    page.wait_for_selector("[data-testid=stream-state][data-state=open]")
    page.evaluate("window.__same_page = true")
    c.produce(bad("R-ZSJ-LIVE", "H-CY-W02", comment="新的差评"))
    page.get_by_test_id("ticket-row-TK-R-ZSJ-LIVE").wait_for(timeout=60000)
    assert page.evaluate("window.__same_page") is True  # no reload happened


def test_only_the_assignee_sees_the_phone_and_the_view_is_recorded(console, open_page):
    from playwright.sync_api import expect

    c, tid = console, "TK-R-ZSJ-5"
    assert c.command(tid, {"kind": "ClaimTicket"}, "o-li").status_code == 200
    li = open_page()
    sign_in(li, c.url, "o-li")
    li.goto(f"{c.url}/console/tickets/{tid}")
    expect_status(li, "已分派", 2)
    expect(li.get_by_test_id("phone-masked")).to_have_text(MASKED)
    li.get_by_test_id("phone-reveal").click()
    expect(li.get_by_test_id("phone-number")).to_have_text(PHONE)
    expect(li.get_by_test_id("phone-notice")).to_contain_text("已记录")
    eventually(lambda: any(e["type"] == "PhoneViewed" for e in c.ticket(tid)["events"]), 30, "the recorded view")

    wang = open_page()
    sign_in(wang, c.url, "o-wang")
    wang.goto(f"{c.url}/console/tickets/{tid}")
    expect_status(wang, "已分派", wang_version := c.ticket(tid)["version"])
    assert wang_version >= 2
    expect(wang.get_by_test_id("phone-reveal")).to_have_count(0)
    expect(wang.get_by_test_id("phone-masked")).to_have_text(MASKED)
    assert PHONE not in wang.content()


def test_screenshots_of_the_queue_admin_and_report_pages(console, open_page):
    """Last in the module, so the queue shows tickets in several states."""
    from playwright.sync_api import expect

    c = console
    officer = open_page()
    sign_in(officer, c.url, "o-li")
    officer.get_by_test_id("ticket-row-TK-R-ZSJ-1").wait_for()
    c.shot(officer, "queue")
    officer.set_viewport_size(TABLET)
    c.shot(officer, "queue-tablet")

    admin = open_page()
    sign_in(admin, c.url, "a-root")
    admin.goto(f"{c.url}/console/admin/users")
    admin.get_by_test_id("user-row-o-li").wait_for()
    c.shot(admin, "admin-users")
    admin.goto(f"{c.url}/console/admin/terminals")
    admin.get_by_test_id("terminal-row-PAD-CY-01").wait_for()
    c.shot(admin, "admin-terminals")
    admin.goto(f"{c.url}/console/admin/directory")
    expect(admin.get_by_text("朝阳区政务服务中心").first).to_be_visible()
    c.shot(admin, "directory")
    admin.goto(f"{c.url}/console/admin/settings")
    admin.get_by_test_id("deadline-settings").wait_for()
    c.shot(admin, "admin-deadlines")

    manager = open_page()
    sign_in(manager, c.url, "m-sun")
    manager.goto(f"{c.url}/console/reports/monthly")
    manager.get_by_test_id("report-totals").wait_for()
    month = manager.locator("#r-month")  # the report opens on last month; this month has the tickets
    month.fill(datetime.now(SHANGHAI).strftime("%Y-%m"))
    month.press("Enter")
    expect(manager.get_by_test_id("report-totals")).not_to_contain_text("评价数0")
    expect(manager.get_by_test_id("report-totals")).not_to_contain_text("NaN")
    c.shot(manager, "report", whole=True)
