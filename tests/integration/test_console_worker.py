"""The console's back end on a real worker (real broker, embedded ClickHouse): a person's session
from sign-in to sign-out with CSRF enforced, a new ticket's event arriving on the event stream of
its department only, evidence uploaded and downloaded by those who may see the ticket, another
department's ticket refused, the built console served, and credential checks that never hold up
/api/v1/health however many wrong secrets arrive."""

from __future__ import annotations

import concurrent.futures
import json
import queue
import threading
from datetime import datetime, timedelta

import httpx
import pytest

from haocha.auth.tokens import hash_secret
from haocha.auth.users import UserFile
from haocha.domain.calendar import SHANGHAI
from haocha.domain.deadlines import due_after
from tests.support.times import CN

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PASSWORD = "pw-for-the-console"
PDF = b"%PDF-1.4\n%%EOF\n"


def open_body(tid: str, department: str) -> dict:
    at = datetime.now(SHANGHAI) - timedelta(minutes=5)
    return {"kind": "OpenTicket", "command_id": f"open:{tid}", "opened": {
        "review_id": tid[3:], "case_no": None, "hall_id": "H-CY", "window_id": f"W-{department}",
        "department_id": department, "rating": 1, "reasons": ["态度差"], "real_name": True, "phone": "13912345678",
        "happened_at": at.isoformat(), "contact_due": due_after(at, 1, CN).isoformat(),
        "resolve_due": due_after(at, 5, CN).isoformat()}}


@pytest.fixture
def worker(make_settings, start_worker):
    w = start_worker(make_settings()).wait_ready()
    users = UserFile(w.settings.users_path(w.settings.data_dir))
    for uid, role, dept in (("o-li", "officer", "D-ZSJ"), ("o-wang", "officer", "D-ZSJ"),
                            ("o-zhao", "officer", "D-CZJ"), ("s-chen", "supervisor", None)):
        users.add(uid, role, dept, password_hash=hash_secret(PASSWORD))
    return w


def signed_in(w, user: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=w.url, timeout=60)
    r = c.post("/api/v1/session", json={"user_id": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return c, r.json()["csrf_token"]


def admin_command(w, tid: str, body: dict) -> httpx.Response:
    return httpx.post(f"{w.url}/api/v1/tickets/{tid}/commands", json=body, headers=w.admin_headers, timeout=60)


def test_a_session_from_sign_in_to_sign_out_with_csrf_enforced(worker):
    w = worker
    assert admin_command(w, "TK-S1", open_body("TK-S1", "D-ZSJ")).status_code == 200
    li, csrf = signed_in(w, "o-li")
    assert li.get("/api/v1/session").json()["actor"] == {"id": "o-li", "role": "officer", "department_id": "D-ZSJ"}
    claim = {"kind": "ClaimTicket", "expected_version": 1}
    r = li.post("/api/v1/tickets/TK-S1/commands", json=claim)
    assert r.status_code == 403 and r.json()["code"] == "csrf"
    r = li.post("/api/v1/tickets/TK-S1/commands", json=claim, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["events"][0]["event"]["officer_id"] == "o-li", r.text
    d = li.get("/api/v1/tickets/TK-S1", params={"fresh": "true"}).json()
    assert "RecordContact" in d["allowed"] and "ClaimTicket" not in d["allowed"]
    assert {o["id"] for o in d["officers"]} == {"o-li", "o-wang"}
    wang, wang_csrf = signed_in(w, "o-wang")  # a colleague cannot take it over, a supervisor can
    r = wang.post("/api/v1/tickets/TK-S1/commands", json={"kind": "AssignTicket", "officer_id": "o-wang"},
                  headers={"X-CSRF-Token": wang_csrf})
    assert r.status_code == 403 and "needs a supervisor" in r.json()["error"]
    assert li.delete("/api/v1/session").status_code == 403  # signing out needs the token too
    assert li.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    r = li.get("/api/v1/tickets")
    assert r.status_code == 401
    for _ in range(5):
        assert httpx.post(f"{w.url}/api/v1/session", json={"user_id": "o-zhao", "password": "wrong"}).status_code == 401
    r = httpx.post(f"{w.url}/api/v1/session", json={"user_id": "o-zhao", "password": PASSWORD})
    assert r.status_code == 429 and r.json()["code"] == "locked" and int(r.headers["Retry-After"]) > 0


def read_stream(w, client: httpx.Client, out: queue.Queue, stop: threading.Event) -> None:
    with client.stream("GET", "/api/v1/tickets/stream", timeout=httpx.Timeout(60, read=None)) as r:
        out.put(("status", r.status_code))
        event = None
        for line in r.iter_lines():
            if stop.is_set():
                return
            if line.startswith(": connected"):
                out.put(("connected", None))
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "ticket":
                out.put(("ticket", json.loads(line[6:])))


def test_a_new_tickets_event_reaches_the_stream_of_its_department_only(worker):
    w = worker
    streams = {}
    stop = threading.Event()
    for user in ("o-li", "o-zhao", "s-chen"):
        client, _ = signed_in(w, user)
        q: queue.Queue = queue.Queue()
        threading.Thread(target=read_stream, args=(w, client, q, stop), daemon=True).start()
        assert q.get(timeout=30) == ("status", 200)
        assert q.get(timeout=30) == ("connected", None)
        streams[user] = q
    try:
        assert admin_command(w, "TK-CZ", open_body("TK-CZ", "D-CZJ")).status_code == 200
        assert admin_command(w, "TK-ZS", open_body("TK-ZS", "D-ZSJ")).status_code == 200
        kind, first = streams["o-li"].get(timeout=60)
        assert kind == "ticket" and first["ticket_id"] == "TK-ZS" and first["department_id"] == "D-ZSJ"
        assert first["type"] == "TicketOpened" and first["version"] == 1
        assert streams["o-zhao"].get(timeout=60)[1]["ticket_id"] == "TK-CZ"
        seen = {streams["s-chen"].get(timeout=60)[1]["ticket_id"] for _ in range(2)}
        assert seen == {"TK-CZ", "TK-ZS"}  # a supervisor sees every department
        assert streams["o-li"].empty() and streams["o-zhao"].empty()
    finally:
        stop.set()
    r = httpx.get(f"{w.url}/api/v1/tickets/stream", timeout=10)
    assert r.status_code == 401


def test_evidence_upload_and_download_follow_who_may_see_the_ticket(worker):
    w = worker
    assert admin_command(w, "TK-E1", open_body("TK-E1", "D-ZSJ")).status_code == 200
    li, csrf = signed_in(w, "o-li")
    files = {"file": ("整改照片.pdf", PDF, "application/pdf")}
    assert li.post("/api/v1/tickets/TK-E1/evidence", files=files).status_code == 403  # no CSRF token
    r = li.post("/api/v1/tickets/TK-E1/evidence", files=files, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    sha = r.json()["sha256"]
    r = li.post("/api/v1/tickets/TK-E1/evidence", files={"file": ("x.pdf", b"MZ\x90\x00", "application/pdf")},
                headers={"X-CSRF-Token": csrf})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_type"
    r = li.post("/api/v1/tickets/TK-E1/evidence", files={"file": ("big.pdf", PDF + b"0" * (10 * 1024 * 1024), "x")},
                headers={"X-CSRF-Token": csrf})
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    wang, _ = signed_in(w, "o-wang")
    r = wang.get(f"/api/v1/tickets/TK-E1/evidence/{sha}")
    assert r.status_code == 200 and r.content == PDF and "attachment" in r.headers["content-disposition"]
    zhao, zhao_csrf = signed_in(w, "o-zhao")
    assert zhao.get(f"/api/v1/tickets/TK-E1/evidence/{sha}").status_code == 403
    assert zhao.get("/api/v1/tickets/TK-E1").status_code == 403  # another department's ticket by URL
    r = zhao.post("/api/v1/tickets/TK-E1/evidence", files=files, headers={"X-CSRF-Token": zhao_csrf})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    d = li.get("/api/v1/tickets/TK-E1", params={"fresh": "true"}).json()
    assert [(e["sha256"], e["name"]) for e in d["evidence"]] == [(sha, "整改照片.pdf")]
    r = li.post("/api/v1/tickets/TK-E1/commands", headers={"X-CSRF-Token": csrf},
                json={"kind": "ClaimTicket"})
    assert r.status_code == 200
    r = li.post("/api/v1/tickets/TK-E1/commands", headers={"X-CSRF-Token": csrf},
                json={"kind": "RecordRectification", "measures": "窗口培训", "evidence": [sha]})
    assert r.status_code == 200 and r.json()["events"][0]["event"]["evidence"] == [sha]


def test_the_worker_serves_the_built_console(worker):
    r = httpx.get(f"{worker.url}/", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/console/"
    r = httpx.get(f"{worker.url}/console/")
    from apps.api.console import CHECKOUT_DIST

    if not (CHECKOUT_DIST / "index.html").exists():
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        return
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache" and "<div id=\"app\">" in r.text
    asset = next((CHECKOUT_DIST / "assets").glob("*.js"))
    r = httpx.get(f"{worker.url}/console/assets/{asset.name}")
    assert r.status_code == 200 and "immutable" in r.headers["cache-control"]


def test_wrong_secrets_never_hold_up_health(worker):
    """200 requests with a real user id and a wrong secret, all at once, from one address: every
    health request sent meanwhile is answered 200 (counts, not timings), and the address is
    answered 429 once it has failed too often."""
    w = worker
    bad = {"Authorization": "Bearer o-li.wrong-secret-wrong-secret"}
    statuses: list[int] = []
    health: list[int] = []
    done = threading.Event()

    def attack(_):
        try:
            return httpx.get(f"{w.url}/api/v1/tickets", headers=bad, timeout=120).status_code
        except httpx.HTTPError:
            return -1

    def probe():
        with httpx.Client(timeout=10) as c:
            while not done.is_set():
                try:
                    health.append(c.get(f"{w.url}/api/v1/health").status_code)
                except httpx.HTTPError:
                    health.append(-1)

    prober = threading.Thread(target=probe)
    prober.start()
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(attack, range(200)))
    done.set()
    prober.join()
    assert statuses.count(-1) == 0 and set(statuses) <= {401, 429}
    assert statuses.count(429) >= 100  # 20 failures per address, then refused before any hashing
    assert len(health) >= 10 and set(health) == {200}, health
    r = httpx.get(f"{w.url}/api/v1/tickets", headers=bad, timeout=30)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0 and r.json()["code"] == "rate_limited"


def test_the_queue_filters_by_month_text_and_escalation_and_counts_per_state(worker):
    w = worker
    at = datetime(2021, 4, 30, 17, 0, tzinfo=SHANGHAI)
    for tid, dept, reasons, when in (("TK-Q1", "D-ZSJ", ["态度差"], at), ("TK-Q2", "D-ZSJ", ["效率低", "环境差"], at),
                                     ("TK-Q3", "D-ZSJ", ["效率低"], at + timedelta(days=40)),
                                     ("TK-Q4", "D-CZJ", ["效率低"], at)):
        body = open_body(tid, dept)
        body["opened"].update(reasons=reasons, happened_at=when.isoformat(), contact_due=due_after(when, 1, CN).isoformat(),
                              resolve_due=due_after(when, 5, CN).isoformat())
        body["at"] = when.isoformat()
        assert admin_command(w, tid, body).status_code == 200
    assert admin_command(w, "TK-Q2", {"kind": "AssignTicket", "officer_id": "o-li"}).status_code == 200
    # the deadline sweep as of a month later escalates every open ticket's contact deadline
    assert httpx.post(f"{w.url}/api/v1/admin/sweep", json={"at": (at + timedelta(days=10)).isoformat()},
                      headers=w.admin_headers, timeout=60).status_code == 200
    li, _ = signed_in(w, "o-li")

    def queue(**params):
        return li.get("/api/v1/tickets", params=params).json()

    def settled():
        q = queue()
        return q["total"] == 3 and q["counts"] == {"opened": 2, "assigned": 1} and \
            sum(bool(t["escalated"]) for t in q["tickets"]) == 2 and q
    import time
    deadline = time.monotonic() + 60
    while not (everything := settled()) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert everything, queue()
    assert {t["ticket_id"]: t["reasons"] for t in everything["tickets"]}["TK-Q2"] == ["效率低", "环境差"]
    assert [t["ticket_id"] for t in queue(month="2021-04")["tickets"]] == ["TK-Q1", "TK-Q2"]
    assert sorted(t["ticket_id"] for t in queue(q="效率")["tickets"]) == ["TK-Q2", "TK-Q3"]  # not D-CZJ's TK-Q4
    assert [t["ticket_id"] for t in queue(q="环境", month="2021-04")["tickets"]] == ["TK-Q2"]
    assert sorted(t["ticket_id"] for t in queue(escalated="true")["tickets"]) == ["TK-Q1", "TK-Q2"]
    assert [t["ticket_id"] for t in queue(escalated="false")["tickets"]] == ["TK-Q3"]
    counted = queue(state="assigned")
    assert [t["ticket_id"] for t in counted["tickets"]] == ["TK-Q2"] and counted["counts"] == {"opened": 2, "assigned": 1}
    assert li.get("/api/v1/tickets", params={"month": "April"}).json()["code"] == "invalid"
