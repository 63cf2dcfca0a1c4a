"""The embedded topology with several workers: 2 workers and 1 writer (`haocha sink`) that owns the
embedded store and so serves the HTTP API and console. A person signs in there, a machine uses a
bearer token, the queue is read from the store, and commands go through Kafka to whichever worker
holds the ticket's partition and come back decided, a phone number too, in the answer to its
recorded view. The workers' own APIs still take commands and answer health, but have no store to
read."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest
from aiokafka.partitioner import DefaultPartitioner

from apps.simulate.worker_process import WorkerProcess
from haocha.auth.tokens import hash_secret
from haocha.auth.users import UserFile
from haocha.domain.directory import Directory
from sinks.clickhouse import ClickHouseStore
from tests.support.times import sh
from tests.integration.test_api_worker import MASKED, PHONE, open_body
from tests.integration.test_pipeline import caught_up, oracle, send, traffic
from tests.integration.test_several_workers import worker_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]
PASSWORD = "pw-for-the-writer-api"
TOKEN = "writer-api-admin-token"


@pytest.fixture
def deployment(make_settings, start_worker, tmp_path):
    s = make_settings(partitions=4, sink_in_worker=False)
    users = UserFile(s.users_path(s.data_dir))  # the API's users live beside the store it serves
    for dept in Directory.load(s.directory_file).departments:
        users.add(f"o-{dept}", "officer", dept, password_hash=hash_secret(PASSWORD), with_token=False)
    writer = WorkerProcess(s, tmp_path / "sink.log", {"HAOCHA_ADMIN_TOKEN": TOKEN}, role="sink").start()
    workers = [start_worker(worker_settings(s, name)) for name in ("a", "b")]
    try:
        writer.wait_ready()
        for w in workers:
            w.wait_ready()
        yield s, writer, workers
    finally:
        for w in workers:
            w.terminate()
        assert writer.stop() == 0, writer.log_path.read_text()[-3000:]


def eventually(fn, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (got := fn()) and time.monotonic() < deadline:
        time.sleep(0.3)
    return got


def test_the_writer_serves_the_api_while_two_workers_decide_the_commands(deployment):
    s, writer, workers = deployment
    subs = traffic(s, 400, seed=7)
    want = oracle(subs)
    send(s, subs)
    caught_up(s)
    admin = httpx.Client(base_url=writer.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    queue = admin.get("/api/v1/tickets", params={"limit": 5000}).json()
    assert sorted(t["ticket_id"] for t in queue["tickets"]) == want["tickets"] and queue["total"] == len(want["tickets"])

    # An officer signs in on the writer's API and claims tickets of their department: each command
    # is decided by the worker holding its partition (both do, over 4 partitions and many tickets).
    dept = Counter(t["department_id"] for t in queue["tickets"]).most_common(1)[0][0]
    officer = httpx.Client(base_url=writer.url, timeout=60)
    r = officer.post("/api/v1/session", json={"user_id": f"o-{dept}", "password": PASSWORD})
    assert r.status_code == 200, r.text
    csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
    mine = [t["ticket_id"] for t in queue["tickets"] if t["department_id"] == dept]
    mine = list({partition_of(tid, 4): tid for tid in mine}.values())  # one ticket per partition
    assert len(mine) == 4, "the department's tickets span every partition, so both workers decide"
    for tid in mine:
        r = officer.post(f"/api/v1/tickets/{tid}/commands", json={"kind": "ClaimTicket", "expected_version": 1},
                         headers=csrf)
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        assert r.json()["events"][0]["event"]["officer_id"] == f"o-{dept}"

    # The ticket page: no ticket table in the writer, so the state is folded from the stored history.
    tid = mine[0]
    page = eventually(lambda: (d := officer.get(f"/api/v1/tickets/{tid}", params={"fresh": "true"}).json())
                      ["version"] == 2 and d)
    assert page["source"] == "clickhouse" and page["status"] == "assigned"
    assert "RecordContact" in page["allowed"] and "ClaimTicket" not in page["allowed"]
    assert [e["type"] for e in page["events"]] == ["TicketOpened", "TicketAssigned"]

    # The admin sweep asks every ticket open in the store; the tickets decide (escalations, warnings).
    r = admin.post("/api/v1/admin/sweep", json={"at": "2021-12-31T00:00:00+08:00"})
    assert r.status_code == 200, r.text
    assert r.json()["checked"] == len(want["tickets"]) and r.json()["events"] > 0

    # The phone: the writer holds no ticket; the worker holding it records the view and answers
    # with the number, to this request only, and only for the officer handling the ticket.
    pid = "TK-PHONE"
    r = admin.post(f"/api/v1/tickets/{pid}/commands", json=open_body(pid, dept, sh(2021, 5, 6, 10, 0)))
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    assert PHONE not in r.text
    r = officer.post(f"/api/v1/tickets/{pid}/commands", json={"kind": "ClaimTicket"}, headers=csrf)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    stranger = httpx.Client(base_url=writer.url, timeout=60)
    other = next(t["department_id"] for t in queue["tickets"] if t["department_id"] != dept)
    r = stranger.post("/api/v1/session", json={"user_id": f"o-{other}", "password": PASSWORD})
    assert r.status_code == 200, r.text
    r = stranger.post(f"/api/v1/tickets/{pid}/phone", headers={"X-CSRF-Token": r.json()["csrf_token"]})
    assert r.status_code == 403 and PHONE not in r.text, r.text
    assert admin.post(f"/api/v1/tickets/{pid}/phone").status_code == 403
    r = officer.post(f"/api/v1/tickets/{pid}/phone", headers=csrf)
    assert r.status_code == 200 and r.json()["phone"] == PHONE and r.json()["recorded"], r.text
    viewed = eventually(lambda: [e for e in admin.get(f"/api/v1/tickets/{pid}").json().get("events", [])
                                 if e["type"] == "PhoneViewed"])
    assert [(e["actor_id"], e["event"]["viewer_id"]) for e in viewed] == [(f"o-{dept}", f"o-{dept}")]

    # A worker's own API takes commands but reads nothing: the embedded store is the writer's.
    w = workers[0]
    r = httpx.get(f"{w.url}/api/v1/tickets", headers=w.admin_headers)
    assert r.status_code == 503 and "haocha sink" in r.json()["error"]
    r = httpx.post(f"{w.url}/api/v1/tickets/TK-W1/commands", headers=w.admin_headers,
                   json=open_body("TK-W1", dept, sh(2021, 5, 6, 10, 0)), timeout=60)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    assert eventually(lambda: admin.get("/api/v1/tickets/TK-W1").status_code == 200)
    assert all(PHONE not in log for log in [writer.log_path.read_text()] + [w.logs() for w in workers])

    # Nor is it in the store: the outcomes topic is not written there, the events are masked.
    assert writer.stop() == 0, writer.log_path.read_text()[-3000:]
    store = ClickHouseStore(s.dsn, s.clickhouse_database)
    try:
        rows = str(store.query(f"SELECT * FROM {{db}}.ticket_events WHERE ticket_id = '{pid}'")
                   + store.query(f"SELECT * FROM {{db}}.tickets WHERE ticket_id = '{pid}'"))
    finally:
        store.close()
    assert "PhoneViewed" in rows and MASKED in rows and PHONE not in rows


def partition_of(ticket_id: str, partitions: int) -> int:
    """Where the command bus sends a ticket's commands (the producer's default partitioner)."""
    return DefaultPartitioner()(ticket_id.encode(), list(range(partitions)), list(range(partitions)))
