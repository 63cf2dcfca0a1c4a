"""The HTTP API without Kafka or ClickHouse: authentication, who may see and do what, status codes,
and masking of the phone number, on the fake bus and reader of tests/support/ticket_fakes.py."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from haocha.adapters.clock import FixedClock
from apps.api.app import CTX, ApiContext, build_app
from apps.api.views import state_view
from haocha.auth.bearer import Authenticator
from haocha.auth.users import UserFile
from haocha.domain.calendar import SHANGHAI
from haocha.domain.deadlines import due_after
from tests.support.ticket_fakes import CN, NOW, FakeBus, FakeReader

PHONE = "13812345678"


@pytest.fixture
async def api(tmp_path):
    users = UserFile(tmp_path / "users.json")
    tokens = {
        "li": users.add("o-li", "officer", "D-ZSJ"),
        "wang": users.add("o-wang", "officer", "D-ZSJ"),
        "zhao": users.add("o-zhao", "officer", "D-CZJ"),
        "chen": users.add("s-chen", "supervisor"),
        "sun": users.add("m-sun", "manager"),
        "admin": "admin-token",
    }
    bus = FakeBus()
    swept: list[datetime] = []

    async def sweep(at):
        swept.append(at)
        return {"checked": 0, "commands": 0}

    ctx = ApiContext(auth=Authenticator(users, SecretStr("admin-token")), bus=bus, reader=FakeReader(bus),
                     clock=FixedClock(NOW), local_state=bus.states.get, sweep=sweep)
    client = TestClient(TestServer(build_app(ctx)))
    await client.start_server()
    client.bus, client.swept = bus, swept
    client.h = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    yield client
    await client.close()


def opened_body(tid="TK-R1", department="D-ZSJ") -> dict:
    at = NOW - timedelta(hours=1)
    return {"kind": "OpenTicket", "at": at.isoformat(), "opened": {
        "review_id": tid[3:], "case_no": None, "hall_id": "H1", "window_id": "W1", "department_id": department,
        "rating": 1, "real_name": True, "phone": PHONE, "happened_at": at.isoformat(),
        "contact_due": due_after(at, 1, CN).isoformat(), "resolve_due": due_after(at, 5, CN).isoformat()}}


async def cmd(api, who, body, tid="TK-R1"):
    r = await api.post(f"/api/v1/tickets/{tid}/commands", json=body, headers=api.h[who])
    return r.status, await r.json()


async def test_health_and_openapi_need_no_token(api):
    assert (await api.get("/api/v1/health")).status == 200
    doc = await (await api.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.") and "/api/v1/tickets/{ticket_id}/commands" in doc["paths"]
    assert "AssignTicket" in doc["components"]["schemas"]


async def test_no_or_bad_token_is_401(api):
    assert (await api.get("/api/v1/tickets")).status == 401
    r = await api.get("/api/v1/tickets", headers={"Authorization": "Bearer nope.nope"})
    assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")


async def test_the_actor_comes_from_the_token_and_outcomes_map_to_status_codes(api):
    status, out = await cmd(api, "admin", opened_body())
    assert status == 200 and out["status"] == "accepted"
    assert out["events"][0]["event"]["phone"] == "138****5678"  # even the outcome is masked
    status, out = await cmd(api, "li", {"kind": "AssignTicket", "officer_id": "o-li", "expected_version": 1})
    assert status == 200 and out["events"][0]["actor"] == {"id": "o-li", "role": "officer", "department_id": "D-ZSJ"}
    status, out = await cmd(api, "wang", {"kind": "AssignTicket", "officer_id": "o-wang", "expected_version": 1})
    assert status == 409 and out["status"] == "conflict"
    status, out = await cmd(api, "li", {"kind": "CloseTicket"})
    assert status == 422 and out["reason"].startswith("illegal_transition")
    status, out = await cmd(api, "li", {"kind": "RecordContact", "reached": True})
    assert status == 422 and out["reason"].startswith("invalid")
    status, out = await cmd(api, "li", {"kind": "AssignTicket"})  # missing field: never reaches the bus
    assert status == 422 and out["error"] == "invalid command"
    status, out = await cmd(api, "li", {"kind": "AssignTicket", "officer_id": "o-li"}, tid="TK-none")
    assert status == 404 and out["status"] == "not_found"
    status, out = await cmd(api, "li", {"kind": "AssignTicket", "officer_id": "o-li", "command_id": "k1"})
    status2, out2 = await cmd(api, "li", {"kind": "AssignTicket", "officer_id": "o-li", "command_id": "k1"})
    assert (status, status2, out2["status"]) == (200, 200, "duplicate")


async def test_authorisation_denials(api):
    await cmd(api, "admin", opened_body())
    await cmd(api, "admin", opened_body("TK-R2", department="D-CZJ"), tid="TK-R2")
    # another department's officer: cannot act, cannot see
    status, out = await cmd(api, "zhao", {"kind": "AssignTicket", "officer_id": "o-zhao"})
    assert status == 403 and "belongs to D-ZSJ" in out["reason"]
    assert (await api.get("/api/v1/tickets/TK-R1", headers=api.h["zhao"])).status == 403
    assert (await api.get("/api/v1/tickets?department=D-ZSJ", headers=api.h["zhao"])).status == 403
    listed = await (await api.get("/api/v1/tickets", headers=api.h["zhao"])).json()
    assert [tk["ticket_id"] for tk in listed["tickets"]] == ["TK-R2"]
    # manager reads everything and acts on nothing
    status, out = await cmd(api, "sun", {"kind": "AssignTicket", "officer_id": "o-li"})
    assert status == 403 and "role manager" in out["reason"]
    listed = await (await api.get("/api/v1/tickets", headers=api.h["sun"])).json()
    assert listed["total"] == 2
    # officers do not decide appeals; only admins backdate or act as someone else
    await cmd(api, "li", {"kind": "AssignTicket", "officer_id": "o-li"})
    await cmd(api, "li", {"kind": "FileAppeal", "ground": "mistaken", "argument": "wrong window"})
    status, out = await cmd(api, "li", {"kind": "DecideAppeal", "upheld": True, "reason": "x"})
    assert status == 403
    status, _ = await cmd(api, "chen", {"kind": "DecideAppeal", "upheld": False, "reason": "the complaint stands"})
    assert status == 200
    status, out = await cmd(api, "li", {"kind": "RecordContact", "reached": False, "at": NOW.isoformat()})
    assert status == 403 and "only an admin" in out["error"]
    status, out = await cmd(api, "chen", {"kind": "RecordContact", "reached": False,
                                          "act_as": {"id": "o-li", "role": "officer", "department_id": "D-ZSJ"}})
    assert status == 403
    status, out = await cmd(api, "admin", {"kind": "RecordContact", "reached": False,
                                           "act_as": {"id": "o-li", "role": "officer", "department_id": "D-ZSJ"}})
    assert status == 200 and out["events"][0]["actor"]["id"] == "o-li"
    # the sweep is for admins
    assert (await api.post("/api/v1/admin/sweep", json={}, headers=api.h["chen"])).status == 403
    r = await api.post("/api/v1/admin/sweep", json={"at": "2021-05-07T09:00:00+08:00"}, headers=api.h["admin"])
    assert r.status == 200 and api.swept == [datetime(2021, 5, 7, 9, 0, tzinfo=SHANGHAI)]


async def test_phone_only_for_the_handling_officer_and_every_view_recorded(api, caplog):
    caplog.set_level(logging.DEBUG)
    await cmd(api, "admin", opened_body())
    for who in ("li", "wang", "chen", "sun", "admin"):  # nobody handles it yet
        assert (await api.post("/api/v1/tickets/TK-R1/phone", headers=api.h[who])).status == 403
    await cmd(api, "li", {"kind": "AssignTicket", "officer_id": "o-li"})
    r = await api.post("/api/v1/tickets/TK-R1/phone", headers=api.h["li"])
    assert r.status == 200 and (await r.json())["phone"] == PHONE
    assert (await api.post("/api/v1/tickets/TK-R1/phone", headers=api.h["wang"])).status == 403
    detail = await (await api.get("/api/v1/tickets/TK-R1", headers=api.h["li"])).json()
    viewed = [e for e in detail["events"] if e["type"] == "PhoneViewed"]
    assert [e["event"]["viewer_id"] for e in viewed] == ["o-li"]
    # masked everywhere else: detail, list, history, logs
    for who in ("li", "chen", "sun"):
        body = await (await api.get("/api/v1/tickets/TK-R1?fresh=true", headers=api.h[who])).text()
        assert PHONE not in body and "138****5678" in body
        assert PHONE not in await (await api.get("/api/v1/tickets", headers=api.h[who])).text()
    assert PHONE not in caplog.text


async def test_a_command_without_an_outcome_in_time_is_504(api):
    api.bus.silent = True
    status, out = await cmd(api, "li", {"kind": "AssignTicket", "officer_id": "o-li", "command_id": "slow-1"})
    assert status == 504 and "slow-1" in out["error"] and "resend" in out["error"]


async def test_list_parameters_are_validated(api):
    for q in ("overdue=maybe", "limit=0", "limit=x", "at=yesterday"):
        assert (await api.get(f"/api/v1/tickets?{q}", headers=api.h["sun"])).status == 422, q


async def test_a_detail_comes_from_the_worker_table_first_and_the_store_only_for_tickets_not_held(api):
    """The store lags the log by a sink batch: right after a command the detail must show the new
    version (the worker's table), and must not wait on the store for a ticket the worker holds."""
    await cmd(api, "admin", opened_body("TK-R1"))
    await cmd(api, "admin", opened_body("TK-R2"), tid="TK-R2")
    store_reads: list[str] = []
    reader, held = FakeReader(api.bus), {"TK-R1"}

    async def lagging_get(tid):  # the store still has version 1 and is asked only when not held
        store_reads.append(tid)
        s = api.bus.states.get(tid)
        return None if s is None else {**state_view(s), "version": 1, "status": "assigned"}

    reader.get = lagging_get
    ctx = api.server.app[CTX]
    ctx.reader = reader
    ctx.local_state = lambda tid: api.bus.states.get(tid) if tid in held else None
    await cmd(api, "li", {"kind": "AssignTicket", "officer_id": "o-li"}, tid="TK-R1")
    d = await (await api.get("/api/v1/tickets/TK-R1", headers=api.h["li"])).json()
    assert (d["source"], d["version"], store_reads) == ("worker-table", 2, [])
    d = await (await api.get("/api/v1/tickets/TK-R2", headers=api.h["li"])).json()
    assert (d["source"], d["version"], store_reads) == ("clickhouse", 1, ["TK-R2"])
    assert (await api.get("/api/v1/tickets/TK-R1?fresh=maybe", headers=api.h["li"])).status == 422
    assert (await (await api.get("/api/v1/tickets/TK-R1?fresh=true", headers=api.h["li"])).json())["version"] == 2
