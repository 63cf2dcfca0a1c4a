"""Console sessions over HTTP without Kafka: sign-in with a password, the cookie's flags, CSRF on
every state-changing request made with the cookie (bearer requests need none), lock-out with 429
and Retry-After, idle and absolute expiry, sign-out, a disabled user's session ending, and the
one-time set-password link."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from apps.api.app import ApiContext, build_app
from haocha.adapters.clock import FixedClock
from haocha.auth.bearer import Authenticator
from haocha.auth.limits import FailureLimiter
from haocha.auth.sessions import SessionStore
from haocha.auth.tokens import hash_secret
from haocha.auth.users import UserFile

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
PASSWORD = "长城-correct-horse"


class Clock:
    def __init__(self):
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


class NoBus:
    async def send(self, cmd, timeout=None):
        raise AssertionError("no command is sent in these tests")


class EmptyReader:
    async def list(self, f):
        return [], 0

    async def get(self, ticket_id):
        return None

    async def events(self, ticket_id):
        return []

    async def counts(self, f):
        return {}


@pytest.fixture
async def api(tmp_path):
    clock = Clock()
    users = UserFile(tmp_path / "users.json", clock=clock)
    users.add("o-li", "officer", "D-ZSJ", password_hash=hash_secret(PASSWORD))
    users.add("o-wang", "officer", "D-ZSJ", password_hash=hash_secret(PASSWORD))
    auth = Authenticator(users, SecretStr("admin-token"), clock=clock,
                         sessions=SessionStore(timedelta(minutes=30), timedelta(hours=12), clock=clock),
                         address_limit=FailureLimiter(50, 900), user_limit=FailureLimiter(5, 900))
    ctx = ApiContext(auth=auth, bus=NoBus(), reader=EmptyReader(), clock=FixedClock(T0),
                     local_state=lambda tid: None, sweep=None)
    client = TestClient(TestServer(build_app(ctx)))
    await client.start_server()
    client.clock, client.users = clock, users
    yield client
    await client.close()


async def sign_in(api, user="o-li", password=PASSWORD):
    return await api.post("/api/v1/session", json={"user_id": user, "password": password})


async def test_sign_in_sets_a_strict_http_only_cookie_and_answers_the_actor(api):
    r = await sign_in(api)
    assert r.status == 200
    body = await r.json()
    assert body["actor"] == {"id": "o-li", "role": "officer", "department_id": "D-ZSJ"} and body["csrf_token"]
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("haocha_session=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie  # plain HTTP here; over TLS it is Secure
    me = await api.get("/api/v1/session")
    assert me.status == 200 and (await me.json())["actor"]["id"] == "o-li"
    assert (await api.get("/api/v1/tickets")).status == 200  # the cookie is the credential


async def test_wrong_password_then_lock_out_after_five_failures(api):
    for _ in range(5):
        r = await sign_in(api, password="wrong-password")
        assert r.status == 401 and (await r.json())["code"] == "bad_credentials"
    r = await sign_in(api)  # even the right password, while locked
    body = await r.json()
    assert r.status == 429 and body["code"] == "locked" and int(r.headers["Retry-After"]) == body["retry_after"] > 0
    assert (await sign_in(api, "o-wang")).status == 200  # another user is not locked
    r = await sign_in(api, "nobody")
    assert r.status == 401 and (await r.json())["code"] == "bad_credentials"


async def test_state_changing_requests_with_the_cookie_need_the_csrf_token(api):
    csrf = (await (await sign_in(api)).json())["csrf_token"]
    r = await api.post("/api/v1/tickets/TK-1/commands", json={"kind": "CloseTicket"})
    assert r.status == 403 and (await r.json())["code"] == "csrf"
    r = await api.post("/api/v1/tickets/TK-1/commands", json={"kind": "CloseTicket"},
                       headers={"X-CSRF-Token": "forged"})
    assert r.status == 403 and (await r.json())["code"] == "csrf"
    assert (await api.delete("/api/v1/session")).status == 403  # signing out too
    # with the token the request gets through to the handler (which then finds no ticket to act on)
    api.session.cookie_jar.clear()
    token = api.users.add("o-li", "officer", "D-ZSJ")
    r = await api.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert r.status == 401  # a bearer token is not a session
    r = await api.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert r.status == 204


async def test_sessions_expire_idle_and_absolute_and_end_on_sign_out(api):
    csrf = (await (await sign_in(api)).json())["csrf_token"]
    for _ in range(30):  # in use every 29 minutes: the idle clock restarts ...
        api.clock.at += timedelta(minutes=29)
        if api.clock.at >= T0 + timedelta(hours=12):
            break
        assert (await api.get("/api/v1/session")).status == 200
    api.clock.at = T0 + timedelta(hours=12)  # ... but 12 h after sign-in it is over
    r = await api.get("/api/v1/tickets")
    assert r.status == 401 and (await r.json())["code"] == "session_expired"
    csrf = (await (await sign_in(api)).json())["csrf_token"]
    api.clock.at += timedelta(minutes=31)
    r = await api.get("/api/v1/session")
    assert r.status == 401 and (await r.json())["code"] == "session_expired"
    csrf = (await (await sign_in(api)).json())["csrf_token"]
    r = await api.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert r.status == 204
    assert (await api.get("/api/v1/session")).status == 401


async def test_a_disabled_user_is_signed_out(api):
    await sign_in(api)
    api.users.update("o-li", disabled=True)
    assert (await api.get("/api/v1/tickets")).status == 401
    assert (await sign_in(api)).status == 401


async def test_set_password_link_works_once_and_expires(api):
    api.users.add("o-new", "officer", "D-ZSJ", with_token=False)
    token, _ = api.users.issue_link("o-new", hours=1)
    r = await api.post("/api/v1/session/password", json={"token": token, "new_password": "short"})
    assert r.status == 422 and (await r.json())["code"] == "invalid"
    r = await api.post("/api/v1/session/password", json={"token": token, "new_password": "a-long-password"})
    assert r.status == 204
    assert (await sign_in(api, "o-new", "a-long-password")).status == 200
    r = await api.post("/api/v1/session/password", json={"token": token, "new_password": "another-password"})
    assert r.status == 401 and (await r.json())["code"] == "bad_credentials"  # spent
    token, _ = api.users.issue_link("o-new", hours=1)
    api.clock.at += timedelta(hours=2)
    r = await api.post("/api/v1/session/password", json={"token": token, "new_password": "another-password"})
    assert r.status == 401  # expired


async def test_change_password_with_the_old_one(api):
    r = await api.post("/api/v1/session/password",
                       json={"user_id": "o-li", "old_password": PASSWORD, "new_password": "new-password-1"})
    assert r.status == 204
    assert (await sign_in(api)).status == 401
    assert (await sign_in(api, password="new-password-1")).status == 200


def test_an_open_stream_does_not_keep_a_session_alive():
    clock = Clock()
    store = SessionStore(timedelta(minutes=30), timedelta(hours=12), clock=clock)
    sid, _ = store.create("o-li")
    clock.at += timedelta(minutes=29)
    assert store.alive(sid)
    clock.at += timedelta(minutes=2)  # alive() is no use: idle for 31 minutes now
    assert not store.alive(sid) and not store.alive("unknown")
