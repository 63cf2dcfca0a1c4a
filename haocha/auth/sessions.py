"""Console sessions, kept in the worker's memory.

A session ends when idle too long, when it is too old, on sign-out, when its user is disabled or
removed, and with a worker restart (people sign in again; nothing else is lost). The cookie holds a
random id; the server keeps only its SHA-256, so a memory dump gives no usable cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Callable


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Session:
    user_id: str
    csrf_token: str
    created_at: datetime
    last_seen: datetime
    expires_at: datetime  # the earlier of idle and absolute expiry, as of last_seen


class SessionExpired(Exception):
    pass


class SessionStore:
    def __init__(self, idle: timedelta = timedelta(minutes=30), absolute: timedelta = timedelta(hours=12),
                 max_sessions: int = 10_000, clock: Callable[[], datetime] = _now):
        self.idle, self.absolute, self.clock = idle, absolute, clock
        self._max = max_sessions
        self._by_digest: OrderedDict[str, Session] = OrderedDict()

    def create(self, user_id: str) -> tuple[str, Session]:
        """A new session; returns the cookie value (the only time it exists in clear)."""
        now = self.clock()
        sid = secrets.token_urlsafe(32)
        s = Session(user_id=user_id, csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen=now,
                    expires_at=self._expiry(now, now))
        self._by_digest[_digest(sid)] = s
        while len(self._by_digest) > self._max:
            self._by_digest.popitem(last=False)
        return sid, s

    def touch(self, sid: str) -> Session | None:
        """The live session for a cookie, its idle clock restarted; None if there is none.
        Raises SessionExpired if it existed but has run out (the console says so)."""
        key = _digest(sid)
        s = self._by_digest.get(key)
        if s is None:
            return None
        now = self.clock()
        if now >= s.expires_at:
            del self._by_digest[key]
            raise SessionExpired(f"session of {s.user_id} expired at {s.expires_at.isoformat()}")
        s = replace(s, last_seen=now, expires_at=self._expiry(s.created_at, now))
        self._by_digest[key] = s
        self._by_digest.move_to_end(key)
        return s

    def alive(self, sid: str) -> bool:
        """Whether the session still runs, without counting this as use (an open event stream
        must not keep an unattended console signed in)."""
        s = self._by_digest.get(_digest(sid))
        return s is not None and self.clock() < s.expires_at

    def end(self, sid: str) -> bool:
        return self._by_digest.pop(_digest(sid), None) is not None

    def end_all_of(self, user_id: str) -> int:
        gone = [k for k, s in self._by_digest.items() if s.user_id == user_id]
        for k in gone:
            del self._by_digest[k]
        return len(gone)

    def _expiry(self, created: datetime, seen: datetime) -> datetime:
        return min(seen + self.idle, created + self.absolute)


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()
