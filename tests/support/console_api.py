"""The worker's HTTP API with the console's endpoints, in-process and without Kafka: a bus that
applies commands with the real pure domain, a reader of what it holds, real users and sessions."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from apps.api.admin import AdminContext
from apps.api.app import ApiContext, build_app
from apps.api.console_context import ConsoleContext
from apps.api.evidence_store import EvidenceStore
from apps.api.views import state_view
from haocha.adapters.calendar_cn import ChineseWorkingCalendar
from haocha.adapters.clock import FixedClock
from haocha.auth.bearer import Authenticator
from haocha.auth.tokens import hash_secret
from haocha.auth.users import UserFile
from haocha.domain.calendar import SHANGHAI
from haocha.domain.deadlines import DeadlinePolicy, due_after
from haocha.domain.directory import Directory
from haocha.domain.tickets import DecisionContext, TicketState, execute
from haocha.settings import PACKAGE_DATA, Settings
from schemas import tickets as t

CN = ChineseWorkingCalendar()
NOW = datetime(2021, 5, 6, 9, 0, tzinfo=SHANGHAI)
PASSWORD = "password-of-test"


class FakeBus:
    def __init__(self):
        self.states: dict[str, TicketState] = {}
        self.events: dict[str, list[t.TicketEventEnvelope]] = {}

    async def send(self, cmd: t.TicketCommandEnvelope, timeout: float | None = None) -> t.CommandOutcome:
        out, state = execute(self.states.get(cmd.ticket_id), cmd, DecisionContext(calendar=CN), NOW)
        if state is not None:
            self.states[cmd.ticket_id] = state
        self.events.setdefault(cmd.ticket_id, []).extend(out.events)
        return out


class FakeReader:
    def __init__(self, bus: FakeBus):
        self.bus = bus

    async def list(self, f):
        rows = [state_view(s) for s in self.bus.states.values() if not f.department or s.department_id == f.department]
        return rows, len(rows)

    async def get(self, ticket_id: str):
        s = self.bus.states.get(ticket_id)
        return state_view(s) if s else None

    async def counts(self, f):
        rows, _ = await self.list(f)
        return {s: sum(r["status"] == s for r in rows) for s in {r["status"] for r in rows}}

    async def events(self, ticket_id: str):
        return [{"event_id": e.event_id, "version": e.version, "type": e.type, "occurred_at": e.occurred_at,
                 "recorded_at": e.recorded_at, "actor_id": e.actor.id, "actor_role": e.actor.role,
                 "command_id": e.command_id, "event": e.event.model_dump(mode="json")}
                for e in self.bus.events.get(ticket_id, [])]


async def console_client(tmp_path: Path, dist: Path | None = None) -> TestClient:
    settings = Settings(data_dir=tmp_path / "data", api_url="http://127.0.0.1:8080")
    users = UserFile(tmp_path / "users.json")
    tokens = {name: users.add(uid, role, dept, name=name, password_hash=hash_secret(PASSWORD))
              for name, uid, role, dept in (("li", "o-li", "officer", "D-ZSJ"), ("wang", "o-wang", "officer", "D-ZSJ"),
                                            ("zhao", "o-zhao", "officer", "D-CZJ"), ("chen", "s-chen", "supervisor", None),
                                            ("sun", "m-sun", "manager", None), ("root", "a-root", "admin", None))}
    bus = FakeBus()
    directory = [Directory.load(PACKAGE_DATA / "directory.json")]
    admin = AdminContext(settings=settings, directory=lambda: directory[0],
                         use_directory=lambda d: directory.__setitem__(0, d), policy=DeadlinePolicy())
    console = ConsoleContext(evidence=EvidenceStore(settings.data_dir / "evidence"),
                             decision=DecisionContext(calendar=CN), admin=admin, dist=dist or tmp_path / "no-dist",
                             evidence_max_bytes=64 * 1024)
    ctx = ApiContext(auth=Authenticator(users, SecretStr("admin-token")), bus=bus, reader=FakeReader(bus),
                     clock=FixedClock(NOW), local_state=bus.states.get, sweep=None, console=console)
    client = TestClient(TestServer(build_app(ctx)))
    await client.start_server()
    client.bus, client.users, client.directory = bus, users, directory
    client.h = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    return client


def opened_body(tid: str = "TK-1", department: str = "D-ZSJ", comment: str | None = None) -> dict:
    at = NOW - timedelta(hours=1)
    return {"kind": "OpenTicket", "at": at.isoformat(), "opened": {
        "review_id": tid[3:], "case_no": "C-1", "hall_id": "H1", "window_id": "W1", "department_id": department,
        "rating": 1, "reasons": ["态度差"], "comment": comment, "real_name": True, "phone": "13812345678",
        "happened_at": at.isoformat(), "contact_due": due_after(at, 1, CN).isoformat(),
        "resolve_due": due_after(at, 5, CN).isoformat()}}
