"""A ticket the worker holds, with the events its ticket hop delivered, is shown without a store
read: here the worker runs apart from the writer (HAOCHA_SINK_IN_WORKER=false, embedded store), so
it has no store at all, and a read that needs the store (the queue) cannot answer."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.test_console_worker import admin_command, open_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_a_held_ticket_is_shown_from_the_worker_alone(make_settings, start_worker):
    w = start_worker(make_settings(sink_in_worker=False)).wait_ready()
    w.add_user("o-li", "officer", "D-ZSJ")
    assert admin_command(w, "TK-W1", open_body("TK-W1", "D-ZSJ")).status_code == 200
    claim = {"kind": "AssignTicket", "officer_id": "o-li", "expected_version": 1}
    assert admin_command(w, "TK-W1", claim).status_code == 200

    r = httpx.get(f"{w.url}/api/v1/tickets/TK-W1", headers=w.admin_headers)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["source"] == "worker-table" and d["version"] == 2
    assert [(e["version"], e["type"]) for e in d["events"]] == [(1, "TicketOpened"), (2, "TicketAssigned")]
    assert d["events"][0]["event"]["phone"] == "139****5678" and "13912345678" not in r.text
    assert httpx.get(f"{w.url}/api/v1/tickets", headers=w.admin_headers).status_code == 503
    assert httpx.get(f"{w.url}/api/v1/tickets/TK-NONE", headers=w.admin_headers).status_code == 503  # not held
