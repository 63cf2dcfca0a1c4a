"""Who is calling: a bearer token (`Authorization: Bearer <user id>.<secret>`, machines and the CLI)
or a console session (people, signed in with a password). Every slow hash runs in the credential
checker's threads; refusals are counted per client address (and per user id for passwords) and
answered 429 once too many, before any hash work."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from pydantic import SecretStr

from haocha.auth.credentials import Busy, CredentialChecker
from haocha.auth.limits import FailureLimiter
from haocha.auth.sessions import Session, SessionExpired, SessionStore
from haocha.auth.tokens import split_token
from haocha.auth.users import User, UserFile
from schemas.tickets import Actor

ADMIN_ID = "admin"
MIN_PASSWORD = 8


class AuthRefused(Exception):
    """`code` is the API's error code; `retry_after` in seconds for 429s."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.retry_after = status, code, retry_after


def _now() -> datetime:
    return datetime.now(timezone.utc)


def actor_of(user: User) -> Actor:
    return Actor(id=user.id, role=user.role, department_id=user.department_id)


class Authenticator:
    def __init__(self, users: UserFile, admin_token: SecretStr | None = None, *,
                 checker: CredentialChecker | None = None, sessions: SessionStore | None = None,
                 address_limit: FailureLimiter | None = None, user_limit: FailureLimiter | None = None,
                 clock: Callable[[], datetime] = _now):
        self.users = users
        self._admin = admin_token.get_secret_value() if admin_token else None
        self.checker = checker or CredentialChecker()
        self.sessions = sessions or SessionStore(clock=clock)
        self.address_limit = address_limit or FailureLimiter(20, 900.0)
        self.user_limit = user_limit or FailureLimiter(5, 900.0)
        self.clock = clock

    # -- bearer tokens ----------------------------------------------------------------------
    async def bearer(self, header: str | None, address: str = "") -> Actor | None:
        """The actor for an Authorization header; None when there is no bearer credential at all."""
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthRefused(401, "unauthenticated", "the Authorization header is not `Bearer <token>`")
        return await self.token(token.strip(), address)

    async def token(self, token: str, address: str = "") -> Actor:
        if self._admin and hmac.compare_digest(token.encode(), self._admin.encode()):
            return Actor(id=ADMIN_ID, role="admin")  # the bootstrap admin: a machine token, no expiry
        self._not_blocked(self.address_limit, address)
        parts = split_token(token)
        user = self.users.get(parts[0]) if parts else None
        if user is None or user.disabled or user.token_hash is None:  # no hash work for these
            raise self._failed(address, None, "unauthenticated", "invalid bearer token")
        if not await self._verify(parts[1], user.token_hash):
            raise self._failed(address, None, "unauthenticated", "invalid bearer token")
        if user.token_expires_at is not None and user.token_expires_at <= self.clock():
            raise AuthRefused(401, "session_expired", f"the token of {user.id} expired at "
                              f"{user.token_expires_at.isoformat()}; ask an admin for a new one (haocha user add)")
        self.address_limit.succeeded(address)
        return actor_of(user)

    def active_actor(self, user_id: str) -> Actor | None:
        """A user who may act now (exists, not disabled), as an Actor; for checking an assignee."""
        user = self.users.get(user_id)
        return None if user is None or user.disabled else actor_of(user)

    # -- passwords and sessions -------------------------------------------------------------
    async def sign_in(self, user_id: str, password: str, address: str = "") -> tuple[str, Session, Actor]:
        self._not_blocked(self.address_limit, address, "locked")
        self._not_blocked(self.user_limit, user_id, "locked")
        user = self.users.get(user_id)
        if user is None or user.disabled or user.password_hash is None:
            raise self._failed(address, user_id, "bad_credentials", "wrong user id or password")
        if not await self._verify(password, user.password_hash):
            raise self._failed(address, user_id, "bad_credentials", "wrong user id or password")
        self.user_limit.succeeded(user_id)
        self.address_limit.succeeded(address)
        sid, session = self.sessions.create(user.id)
        return sid, session, actor_of(user)

    def session(self, sid: str | None) -> tuple[Session, Actor] | None:
        """The session behind a cookie and its user as the users file has them now."""
        if not sid:
            return None
        try:
            s = self.sessions.touch(sid)
        except SessionExpired as exc:
            raise AuthRefused(401, "session_expired", str(exc)) from None
        if s is None:
            raise AuthRefused(401, "session_expired", "no such session (signed out, or the worker restarted)")
        user = self.users.get(s.user_id)
        if user is None or user.disabled:
            self.sessions.end_all_of(s.user_id)
            raise AuthRefused(401, "unauthenticated", f"user {s.user_id} is disabled or removed")
        return s, actor_of(user)

    def sign_out(self, sid: str | None) -> None:
        if sid:
            self.sessions.end(sid)

    async def set_password_by_link(self, token: str, new_password: str, address: str = "") -> User:
        self._not_blocked(self.address_limit, address, "locked")
        digest = await self.checker.hash(_checked(new_password))
        user = await asyncio.to_thread(self.users.redeem_link, token, digest)
        if user is None:
            raise self._failed(address, None, "bad_credentials", "the set-password link is invalid, used or expired")
        return user

    async def change_password(self, user_id: str, old_password: str, new_password: str, address: str = "") -> User:
        _checked(new_password)
        await self.sign_in(user_id, old_password, address)  # same limits, same refusals
        self.sessions.end_all_of(user_id)
        digest = await self.checker.hash(new_password)
        user = await asyncio.to_thread(self.users.update, user_id, password_hash=digest)
        assert user is not None
        return user

    # -- shared -----------------------------------------------------------------------------
    async def _verify(self, secret: str, stored: str) -> bool:
        try:
            return await self.checker.verify(secret, stored)
        except Busy:
            raise AuthRefused(429, "rate_limited", "too many sign-ins at once; try again", retry_after=1) from None

    def _not_blocked(self, limiter: FailureLimiter, key: str, code: str = "rate_limited") -> None:
        wait = limiter.retry_after(key)
        if wait is not None:
            raise AuthRefused(429, code, f"too many failed attempts; try again in {wait} s", retry_after=wait)

    def _failed(self, address: str, user_id: str | None, code: str, message: str) -> AuthRefused:
        self.address_limit.failed(address)
        if user_id is not None:
            self.user_limit.failed(user_id)
        return AuthRefused(401, code, message)


def _checked(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= 256:
        raise AuthRefused(422, "invalid", f"a password has {MIN_PASSWORD} to 256 characters")
    return password


def authenticator_for(settings, users: UserFile | None = None) -> Authenticator:
    """The worker's authenticator, configured by the one settings object."""
    window = settings.auth_lockout_minutes * 60
    return Authenticator(
        users or UserFile(settings.users_path(settings.data_dir)), settings.admin_token,
        checker=CredentialChecker(threads=settings.auth_threads, max_waiting=settings.auth_max_waiting,
                                  cache_seconds=settings.auth_cache_seconds),
        sessions=SessionStore(idle=timedelta(minutes=settings.session_idle_minutes),
                              absolute=timedelta(hours=settings.session_absolute_hours)),
        address_limit=FailureLimiter(settings.auth_address_failures, window),
        user_limit=FailureLimiter(settings.auth_lockout_failures, window))
