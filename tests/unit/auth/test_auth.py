"""Tokens and users: secrets stored only as salted scrypt hashes, the bearer check, the users file,
token expiry, failure limits before any hash work, and the slow hash off the event loop."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import SecretStr, ValidationError

from haocha.auth.bearer import Authenticator, AuthRefused
from haocha.auth.credentials import Busy, CredentialChecker
from haocha.auth.limits import FailureLimiter
from haocha.auth.tokens import hash_secret, split_token, verify_secret
from haocha.auth.users import UserFile


def test_secret_hash_is_salted_and_verifies_only_the_secret():
    a, b = hash_secret("s3cret"), hash_secret("s3cret")
    assert a != b and "s3cret" not in a and a.startswith("scrypt$")
    assert verify_secret("s3cret", a) and verify_secret("s3cret", b)
    assert not verify_secret("s3cret!", a)
    assert not verify_secret("s3cret", "garbage") and not verify_secret("s3cret", "md5$x$y$z$a$b")


def test_token_carries_the_user_id():
    assert split_token("o-li.abc.def") == ("o-li.abc", "def")
    assert split_token("nodot") is None and split_token(".x") is None and split_token("x.") is None


async def refused(coro) -> AuthRefused:
    with pytest.raises(AuthRefused) as info:
        await coro
    return info.value


async def test_users_file_stores_no_token_and_the_token_authenticates(tmp_path):
    users = UserFile(tmp_path / "users.json")
    token = users.add("o-li", "officer", "D-ZSJ")
    raw = (tmp_path / "users.json").read_text()
    assert token.split(".", 1)[1] not in raw and "o-li" in raw
    auth = Authenticator(users)
    actor = await auth.bearer(f"Bearer {token}")
    assert actor is not None and (actor.id, actor.role, actor.department_id) == ("o-li", "officer", "D-ZSJ")
    assert (await refused(auth.bearer(f"Bearer {token}x"))).status == 401
    assert (await refused(auth.bearer(f"Basic {token}"))).status == 401 and await auth.bearer(None) is None
    assert (await refused(auth.bearer("Bearer someone-else." + token.split(".", 1)[1]))).code == "unauthenticated"


async def test_rekeying_or_removing_a_user_revokes_the_old_token(tmp_path):
    users = UserFile(tmp_path / "users.json")
    auth = Authenticator(users)
    old = users.add("s-chen", "supervisor")
    assert await auth.token(old) is not None  # now cached
    new = users.add("s-chen", "supervisor")
    await refused(auth.token(old))
    assert (await auth.token(new)).role == "supervisor"
    assert UserFile(tmp_path / "users.json").remove("s-chen")
    await refused(auth.token(new))


async def test_admin_token_from_settings(tmp_path):
    auth = Authenticator(UserFile(tmp_path / "none.json"), SecretStr("boot-admin"))
    assert (await auth.token("boot-admin")).role == "admin"
    await refused(auth.token("boot-admin2"))


def test_an_officer_needs_a_department_and_ids_are_plain_names(tmp_path):
    users = UserFile(tmp_path / "users.json")
    with pytest.raises(ValueError, match="department"):
        users.add("o-x", "officer")
    for bad in ("x y", "", "a" * 65, "o/x", "张三"):
        with pytest.raises(ValidationError, match="1-64 of"):
            users.add(bad, "manager")
    with pytest.raises(ValidationError):
        users.add("x", "system")  # the system actor has no token
    assert users.all() == []
    assert users.add("li.na_2-x", "manager")  # dots are fine: the token splits at its last dot


async def test_tokens_of_people_expire_and_machine_tokens_need_not(tmp_path):
    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    users = UserFile(tmp_path / "users.json", clock=lambda: now[0])
    person = users.add("o-li", "officer", "D-ZSJ", token_days=30)
    machine = users.add("bot", "admin", machine=True, token_days=None)
    auth = Authenticator(users, clock=lambda: now[0])
    now[0] += timedelta(days=29)
    assert (await auth.token(person)).id == "o-li"
    now[0] += timedelta(days=2)
    r = await refused(auth.token(person))
    assert (r.status, r.code) == (401, "session_expired") and "haocha user add" in str(r)
    now[0] += timedelta(days=3650)
    assert (await auth.token(machine)).id == "bot"


async def test_a_disabled_user_is_refused(tmp_path):
    users = UserFile(tmp_path / "users.json")
    token = users.add("o-li", "officer", "D-ZSJ")
    auth = Authenticator(users)
    assert await auth.token(token)
    users.update("o-li", disabled=True)
    await refused(auth.token(token))


async def test_failed_tokens_from_one_address_get_429_before_any_hash_work(tmp_path):
    users = UserFile(tmp_path / "users.json")
    token = users.add("o-li", "officer", "D-ZSJ")
    checker = CredentialChecker()
    auth = Authenticator(users, checker=checker, address_limit=FailureLimiter(3, 60))
    for _ in range(3):
        assert (await refused(auth.token("o-li.wrong", "10.0.0.9"))).status == 401
    hashed = []
    real_run = checker._run
    checker._run = lambda *a: hashed.append(a) or real_run(*a)
    r = await refused(auth.token(token, "10.0.0.9"))  # even the right token waits out the block
    assert (r.status, r.code) == (429, "rate_limited") and r.retry_after >= 1 and hashed == []
    assert (await auth.token(token, "10.0.0.10")).id == "o-li"  # another address is not blocked


async def test_unknown_user_costs_no_hash(tmp_path):
    checker = CredentialChecker()
    calls = []
    checker._run = lambda *a: calls.append(a)
    auth = Authenticator(UserFile(tmp_path / "users.json"), checker=checker)
    await refused(auth.token("nobody.secret"))
    assert calls == []


def test_failure_limiter_slides_and_forgets():
    t = [0.0]
    lim = FailureLimiter(2, 10, max_keys=3, monotonic=lambda: t[0])
    lim.failed("a")
    assert lim.retry_after("a") is None
    t[0] = 4
    lim.failed("a")
    assert lim.retry_after("a") == 6  # the first failure leaves the window at t=10
    t[0] = 10.5
    assert lim.retry_after("a") is None
    for k in "bcde":
        lim.failed(k)
    assert len(lim._failures) == 3  # bounded


async def test_checker_caches_successes_only_and_bounds_the_waiting(tmp_path):
    stored = hash_secret("right")
    checker = CredentialChecker(threads=1, max_waiting=2)
    calls = []
    real = checker._run

    async def counting(fn, *a):
        calls.append(fn.__name__)
        return await real(fn, *a)

    checker._run = counting
    assert await checker.verify("right", stored) and await checker.verify("right", stored)
    assert not await checker.verify("wrong", stored) and not await checker.verify("wrong", stored)
    assert calls == ["verify_secret"] * 3  # one success cached, failures never
    assert await checker.verify("right", hash_secret("right")) and len(calls) == 4  # a new stored hash: checked anew
    checker._run = real
    results = await asyncio.gather(*(checker.verify(f"w{i}", stored) for i in range(6)), return_exceptions=True)
    assert sum(isinstance(r, Busy) for r in results) == 4 and results.count(False) == 2
    checker.close()


def test_users_file_keeps_only_hashes(tmp_path):
    users = UserFile(tmp_path / "users.json")
    users.add("o-li", "officer", "D-ZSJ", password_hash=hash_secret("correct horse"))
    token, _ = users.issue_link("o-li", hours=1)
    raw = (tmp_path / "users.json").read_text()
    assert "correct horse" not in raw and token.split(".")[-1] not in raw
    u = json.loads(raw)["users"][0]
    assert u["password_hash"].startswith("scrypt$") and u["created_at"]
