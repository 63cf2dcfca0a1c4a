"""Deadline warnings and escalation across worker restarts: derived from the ticket's state, so a
restart (clean or a crash) neither loses nor repeats one. Real worker, real broker."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import time

import httpx
import pytest

from haocha.domain.deadlines import due_after
from tests.support.times import CN, sh

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]



def open_ticket(w, tid: str, at: datetime) -> None:
    body = {"kind": "OpenTicket", "at": at.isoformat(), "opened": {
        "review_id": tid, "case_no": None, "hall_id": "H-CY", "window_id": "W1", "department_id": "D-ZSJ",
        "rating": 1, "real_name": True, "phone": "13700001111", "happened_at": at.isoformat(),
        "contact_due": due_after(at, 1, CN).isoformat(), "resolve_due": due_after(at, 5, CN).isoformat()}}
    r = httpx.post(f"{w.url}/api/v1/tickets/{tid}/commands", json=body, headers=w.admin_headers, timeout=60)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text


def sweep(w, at: datetime) -> dict:
    r = httpx.post(f"{w.url}/api/v1/admin/sweep", json={"at": at.isoformat()}, headers=w.admin_headers, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def deadline_events(w, tid: str) -> list[str]:
    state = httpx.get(f"{w.url}/api/v1/tickets/{tid}?fresh=true", headers=w.admin_headers).json()
    return [*state["warned"], *(f"{s}:100" for s in state["escalated"])]


def test_restart_in_the_middle_of_a_deadline_neither_loses_nor_repeats_a_warning(make_settings, start_worker):
    w = start_worker(make_settings()).wait_ready()
    # Fri 30 Apr 2021 17:00: contact due Thu 6 May 17:00 (Labour Day off), resolve due Tue 11 May 17:00
    open_ticket(w, "TK-D1", sh(2021, 4, 30, 17, 0))
    assert sweep(w, sh(2021, 5, 5, 23, 0))["commands"] == 0  # holidays do not count
    got = sweep(w, sh(2021, 5, 6, 5, 30))
    assert (got["checked"], got["commands"], got["events"]) == (1, 1, 1)
    assert deadline_events(w, "TK-D1") == ["contact:50"]

    w.terminate()  # a clean restart between 50 % and 80 %
    w.start().wait_ready()
    assert sweep(w, sh(2021, 5, 6, 6, 0))["commands"] == 0  # not repeated
    assert deadline_events(w, "TK-D1") == ["contact:50"]  # not lost

    w.kill()  # a crash
    w.start().wait_ready()
    got = sweep(w, sh(2021, 5, 6, 13, 0))
    assert (got["commands"], got["events"]) == (1, 1)
    assert deadline_events(w, "TK-D1") == ["contact:50", "contact:80"]
    got = sweep(w, sh(2021, 5, 6, 17, 0))
    assert deadline_events(w, "TK-D1") == ["contact:50", "contact:80", "contact:100"]

    # the history, as ClickHouse has it, has each warning exactly once
    def history():
        d = httpx.get(f"{w.url}/api/v1/tickets/TK-D1", headers=w.admin_headers).json()
        return [(e["type"], e["event"].get("percent")) for e in d.get("events", [])
                if e["type"] in ("DeadlineWarned", "TicketEscalated")]
    want = [("DeadlineWarned", 50), ("DeadlineWarned", 80), ("TicketEscalated", None)]
    for _ in range(200):
        if history() == want:
            break
        time.sleep(0.2)  # the ClickHouse sink writes in ~1 s batches
    assert history() == want


def test_the_periodic_sweep_escalates_once_and_not_again_after_a_restart(make_settings, start_worker):
    w = start_worker(make_settings(deadline_sweep_seconds=0.5)).wait_ready()
    open_ticket(w, "TK-D2", datetime.now(timezone.utc) - timedelta(days=30))  # every deadline long past
    everything = ["contact:50", "contact:80", "resolve:50", "resolve:80", "contact:100", "resolve:100"]
    for _ in range(300):
        if deadline_events(w, "TK-D2") == everything:
            break
        time.sleep(0.2)
    assert deadline_events(w, "TK-D2") == everything
    w.terminate()
    w.start().wait_ready()
    assert sweep(w, datetime.now(timezone.utc))["commands"] == 0
    assert deadline_events(w, "TK-D2") == everything
    version = httpx.get(f"{w.url}/api/v1/tickets/TK-D2?fresh=true", headers=w.admin_headers).json()["version"]
    assert version == 1 + 6  # opened, then the six deadline events once each
