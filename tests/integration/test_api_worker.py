"""The API served by a real worker on the real broker and the embedded ClickHouse: the life of a
ticket over HTTP, the queue, history, masking, two officers at once, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import httpx
import pytest

from haocha.domain.deadlines import due_after
from tests.support.times import CN, sh

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PHONE = "13912345678"
MASKED = "139****5678"


def open_body(tid: str, department: str, at: datetime, real_name: bool = True) -> dict:
    return {"kind": "OpenTicket", "at": at.isoformat(), "command_id": f"open:{tid}", "opened": {
        "review_id": tid[3:], "case_no": None, "hall_id": "H-CY", "window_id": f"W-{department}",
        "department_id": department, "rating": 1, "real_name": real_name, "phone": PHONE if real_name else None,
        "happened_at": at.isoformat(), "contact_due": due_after(at, 1, CN).isoformat(),
        "resolve_due": due_after(at, 5, CN).isoformat()}}


def command(url: str, headers: dict, tid: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/tickets/{tid}/commands", json=body, headers=headers, timeout=60)


def eventually(fn, timeout: float = 60.0):
    """Reads lag the log by one sink batch: poll until the read shows what the log already has."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


@pytest.fixture
def worker(make_settings, start_worker):
    w = start_worker(make_settings()).wait_ready()
    w.li = w.add_user("o-li", "officer", "D-ZSJ")
    w.wang = w.add_user("o-wang", "officer", "D-ZSJ")
    w.zhao = w.add_user("o-zhao", "officer", "D-CZJ")
    w.chen = w.add_user("s-chen", "supervisor")
    w.sun = w.add_user("m-sun", "manager")
    return w


def test_life_of_tickets_over_http_with_queue_history_and_masking(worker):
    w, url, admin = worker, worker.url, worker.admin_headers
    assert httpx.get(f"{url}/openapi.json").json()["paths"]["/api/v1/tickets"]
    t0 = sh(2021, 4, 30, 17, 0)
    for tid, dept, at in (("TK-A", "D-ZSJ", t0), ("TK-B", "D-ZSJ", t0 - timedelta(days=1)),
                          ("TK-C", "D-CZJ", t0 + timedelta(hours=1))):
        r = command(url, admin, tid, open_body(tid, dept, at))
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        assert PHONE not in r.text
    at = lambda h: (t0 + timedelta(hours=h)).isoformat()  # noqa: E731

    steps = [
        (w.li, {"kind": "AssignTicket", "officer_id": "o-li", "expected_version": 1}),
        (w.li, {"kind": "RecordContact", "reached": True, "verdict": "属实", "note": "回访"}),
        (w.li, {"kind": "RecordRectification", "measures": "窗口人员培训", "evidence": ["培训记录.pdf"]}),
        (w.li, {"kind": "GiveFeedback", "message": "已整改，感谢监督"}),
        (w.li, {"kind": "CloseTicket"}),
    ]
    # the other department's officer and the manager may not act; an illegal step is refused
    r = command(url, w.zhao, "TK-A", steps[0][1])
    assert r.status_code == 403, r.text
    assert command(url, w.sun, "TK-A", steps[0][1]).status_code == 403
    r = command(url, w.li, "TK-A", {"kind": "CloseTicket"})
    assert r.status_code == 422 and "close after feedback" in r.json()["reason"]
    for who, body in steps:
        r = command(url, who, "TK-A", body)
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    assert r.json()["version"] == 6

    # the detail straight from the worker's table, current at once (the sink lags a batch), with the
    # history the ticket hop delivered
    d = httpx.get(f"{url}/api/v1/tickets/TK-A", headers=w.li).json()
    assert d["status"] == "closed" and d["resolution"] == "rectified" and d["source"] == "worker-table"
    assert d["version"] == 6
    hist = eventually(lambda: [e["type"] for e in httpx.get(f"{url}/api/v1/tickets/TK-A", headers=w.li)
                               .json().get("events", [])] if httpx.get(f"{url}/api/v1/tickets/TK-A", headers=w.li)
                      .json().get("version") == 6 else None)
    assert hist == ["TicketOpened", "TicketAssigned", "ContactRecorded", "RectificationRecorded",
                    "FeedbackGiven", "TicketClosed"]
    detail = httpx.get(f"{url}/api/v1/tickets/TK-A", headers=w.sun)
    assert detail.json()["events"][0]["event"]["phone"] == MASKED and PHONE not in detail.text

    # the queue: by time left, filters, an officer sees only the own department
    def queue(headers, **params):
        return httpx.get(f"{url}/api/v1/tickets", params=params, headers=headers).json()
    # the queue is the store's: wait for the sink's batch with TK-A closed (the detail above did not)
    everything = eventually(lambda: (q := queue(w.chen, at=at(5)))["total"] == 3
                            and [t["status"] for t in q["tickets"] if t["ticket_id"] == "TK-A"] == ["closed"] and q)
    assert [t["ticket_id"] for t in everything["tickets"]] == ["TK-B", "TK-C", "TK-A"]  # closed last
    lefts = [t["time_left_seconds"] for t in everything["tickets"][:2]]
    assert lefts == sorted(lefts) and everything["tickets"][2]["time_left_seconds"] is None
    assert [t["ticket_id"] for t in queue(w.zhao)["tickets"]] == ["TK-C"]
    assert [t["ticket_id"] for t in queue(w.chen, department="D-ZSJ", state="opened")["tickets"]] == ["TK-B"]
    assert [t["ticket_id"] for t in queue(w.sun, window="W-D-CZJ")["tickets"]] == ["TK-C"]
    # as of Thu 6 May 20:00 both contact deadlines have passed (17:00 / 18:00); TK-B's was earlier
    overdue = queue(w.sun, overdue="true", at=sh(2021, 5, 6, 20, 0).isoformat())
    assert [t["ticket_id"] for t in overdue["tickets"]] == ["TK-B", "TK-C"]
    assert all(t["overdue"] and t["time_left_seconds"] < 0 for t in overdue["tickets"])
    assert [t["ticket_id"] for t in queue(w.sun, overdue="false", at=at(-1))["tickets"]] == ["TK-B", "TK-C", "TK-A"]
    assert PHONE not in json.dumps(everything, ensure_ascii=False)

    # the phone: only for the handling officer, and each view is on the record
    assert httpx.post(f"{url}/api/v1/tickets/TK-A/phone", headers=w.wang).status_code == 403
    assert httpx.post(f"{url}/api/v1/tickets/TK-A/phone", headers=w.chen).status_code == 403
    r = httpx.post(f"{url}/api/v1/tickets/TK-A/phone", headers=w.li)
    assert r.status_code == 200 and r.json()["phone"] == PHONE
    viewed = eventually(lambda: [e for e in httpx.get(f"{url}/api/v1/tickets/TK-A", headers=w.chen).json()["events"]
                                 if e["type"] == "PhoneViewed"])
    assert [(e["actor_id"], e["event"]["viewer_id"]) for e in viewed] == [("o-li", "o-li")]

    w.terminate()
    logs = w.logs()
    assert "TK-A" in logs  # commands are logged ...
    assert PHONE not in logs  # ... the phone number never


def test_alternative_paths_over_http(worker):
    w, url = worker, worker.url
    t0 = sh(2021, 5, 6, 9, 0)
    for tid in ("TK-EX", "TK-AP", "TK-RO"):
        assert command(url, w.admin_headers, tid, open_body(tid, "D-ZSJ", t0)).status_code == 200
        assert command(url, w.li, tid, {"kind": "AssignTicket", "officer_id": "o-li"}).status_code == 200
    # explained -> closed
    assert command(url, w.li, "TK-EX", {"kind": "ExplainPolicy", "explanation": "法定材料不可免"}).status_code == 200
    assert command(url, w.li, "TK-EX", {"kind": "CloseTicket"}).json()["events"][0]["event"]["resolution"] == "explained"
    # appeal: officers file, only supervisors decide; upheld invalidates
    assert command(url, w.li, "TK-AP", {"kind": "FileAppeal", "ground": "malicious", "argument": "同一人连续差评"}).status_code == 200
    assert command(url, w.li, "TK-AP", {"kind": "DecideAppeal", "upheld": True, "reason": "x"}).status_code == 403
    r = command(url, w.chen, "TK-AP", {"kind": "DecideAppeal", "upheld": True, "reason": "恶意差评属实"})
    assert r.status_code == 200
    assert httpx.get(f"{url}/api/v1/tickets/TK-AP?fresh=true", headers=w.sun).json()["status"] == "invalidated"
    # reopened by a follow-up review (system/admin), once
    for body in ({"kind": "RecordRectification", "measures": "整改"}, {"kind": "GiveFeedback", "message": "已反馈"}):
        assert command(url, w.li, "TK-RO", body).status_code == 200
    reopen = {"kind": "ReopenTicket", "follow_up_review_id": "RO-f", "rating": 1, "at": sh(2021, 5, 10, 9).isoformat()}
    assert command(url, w.li, "TK-RO", reopen).status_code == 403
    r = command(url, w.admin_headers, "TK-RO", reopen)
    assert r.status_code == 200 and r.json()["events"][0]["event"]["resolve_due"].startswith("2021-05-17T09:00")
    for body in ({"kind": "RecordRectification", "measures": "再整改"}, {"kind": "GiveFeedback", "message": "再反馈"}):
        assert command(url, w.li, "TK-RO", body).status_code == 200
    r = command(url, w.admin_headers, "TK-RO", {**reopen, "follow_up_review_id": "RO-g"})
    assert r.status_code == 422 and "one follow-up review at most" in r.json()["reason"]


def test_two_officers_on_one_ticket_at_once_exactly_one_wins(worker):
    w, url = worker, worker.url
    rounds = 5
    for i in range(rounds):
        tid = f"TK-RACE{i}"
        assert command(url, w.admin_headers, tid, open_body(tid, "D-ZSJ", sh(2021, 5, 6, 9))).status_code == 200
        results: dict[str, httpx.Response] = {}
        barrier = threading.Barrier(2)

        def act(name, headers, officer):
            barrier.wait()
            results[name] = command(url, headers, tid, {"kind": "AssignTicket", "officer_id": officer,
                                                        "expected_version": 1})

        threads = [threading.Thread(target=act, args=("li", w.li, "o-li")),
                   threading.Thread(target=act, args=("wang", w.wang, "o-wang"))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        codes = sorted(r.status_code for r in results.values())
        assert codes == [200, 409], {k: r.text for k, r in results.items()}
        winner = next(k for k, r in results.items() if r.status_code == 200)
        loser = next(r for r in results.values() if r.status_code == 409)
        assert loser.json()["status"] == "conflict" and "reload and retry" in loser.json()["reason"]
        state = httpx.get(f"{url}/api/v1/tickets/{tid}?fresh=true", headers=w.chen).json()
        assert state["version"] == 2 and state["officer_id"] == f"o-{winner}"


def test_cli_ticket_verbs_against_the_worker(worker):
    w = worker
    assert command(w.url, w.admin_headers, "TK-CLI", open_body("TK-CLI", "D-ZSJ", sh(2021, 5, 6, 9))).status_code == 200
    env = {**os.environ, "HAOCHA_API_URL": w.url, "HAOCHA_API_TOKEN": w.li["Authorization"].split(" ", 1)[1]}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "apps.cli", "ticket", *args, "--json"], env=env,
                              capture_output=True, text=True, timeout=120)

    r = cli("assign", "TK-CLI", "--officer", "o-li", "--expected-version", "1")
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "accepted", r.stdout + r.stderr
    r = cli("close", "TK-CLI")
    assert r.returncode == 1 and json.loads(r.stdout)["status"] == "refused"
    r = cli("contact", "TK-CLI", "--reached", "--verdict", "不属实")
    assert r.returncode == 0
    r = cli("show", "TK-CLI", "--fresh")
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "contacted" and PHONE not in r.stdout
    r = cli("phone", "TK-CLI")
    assert r.returncode == 0 and json.loads(r.stdout)["phone"] == PHONE
    listed = eventually(lambda: (r := cli("list")).returncode == 0 and "TK-CLI" in r.stdout and r)
    assert json.loads(listed.stdout)["total"] == 1
