"""The worker's HTTP API with the console's endpoints, in-process and without Kafka: a bus that
applies commands with the real pure domain, a reader of what it holds, real users and sessions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from apps.api.admin import AdminContext
from apps.api.app import ApiContext, build_app
from apps.api.console_context import ConsoleContext
from apps.api.evidence_store import EvidenceStore
from haocha.adapters.clock import FixedClock
from haocha.auth.bearer import Authenticator
from haocha.auth.tokens import hash_secret
from haocha.auth.users import UserFile
from haocha.domain.deadlines import DeadlinePolicy, due_after
from haocha.domain.directory import Directory
from haocha.domain.tickets import DecisionContext
from haocha.settings import PACKAGE_DATA, Settings
from tests.support.ticket_fakes import CN, NOW, FakeBus, FakeReader

PASSWORD = "password-of-test"


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
