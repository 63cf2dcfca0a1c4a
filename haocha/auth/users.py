"""Users in a JSON file in the data dir: id, role, department, and only hashes of their secrets
(the bearer token, the password, a pending set-password link).

The worker re-reads the file when it changes, so `haocha user add` takes effect without a restart.
Writes go to a temporary file renamed over the old one under a lock, so a reader never sees half
a file and two concurrent writers (the CLI, the worker's console) do not lose each other's change.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from haocha.auth.tokens import hash_secret, make_token, new_secret, split_token

UserRole = Literal["officer", "supervisor", "manager", "admin"]
ROLES: tuple[str, ...] = ("officer", "supervisor", "manager", "admin")
USER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class User(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    role: UserRole
    department_id: str | None = None
    name: str | None = None
    token_hash: str | None = None
    token_expires_at: datetime | None = None  # None: the token does not expire
    machine: bool = False  # a script's account, not a person's (tokens without expiry by default)
    password_hash: str | None = None
    disabled: bool = False
    created_at: datetime | None = None
    # A pending set-password link: SHA-256 of its random secret (a 256-bit secret needs no slow hash).
    link_hash: str | None = None
    link_expires_at: datetime | None = None

    @model_validator(mode="after")
    def _valid(self) -> "User":
        if self.role == "officer" and not self.department_id:
            raise ValueError("an officer belongs to a department (--department)")
        if not USER_ID.fullmatch(self.id):
            raise ValueError(f"a user id is 1-64 of A-Z a-z 0-9 . _ - (got {self.id!r})")
        return self

    def public(self) -> dict:
        """What an admin may see of a user: no hash of anything."""
        return {"id": self.id, "role": self.role, "department_id": self.department_id, "name": self.name,
                "disabled": self.disabled, "machine": self.machine, "has_password": self.password_hash is not None,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "token_expires_at": self.token_expires_at.isoformat() if self.token_expires_at else None}


def link_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UserFile:
    def __init__(self, path: Path, clock: Callable[[], datetime] = _now):
        self.path = Path(path)
        self.clock = clock
        self._cache: dict[str, User] = {}
        self._stamp: tuple[int, int] | None = None

    def get(self, user_id: str) -> User | None:
        return self._load().get(user_id)

    def all(self) -> list[User]:
        return sorted(self._load().values(), key=lambda u: u.id)

    @property
    def stamp(self) -> tuple[int, int] | None:
        """Changes whenever the file does; callers drop their caches on a change."""
        self._load()
        return self._stamp

    def add(self, user_id: str, role: str, department_id: str | None = None, *, token_days: float | None = 30.0,
            machine: bool = False, name: str | None = None, password_hash: str | None = None,
            with_token: bool = True) -> str | None:
        """Create a user, or give an existing one a new token (keeping their password and creation
        time); return the token, the only time it exists in clear. `token_days` None or 0: no expiry."""
        if role == "officer" and not department_id:
            raise ValueError("an officer belongs to a department (--department)")
        secret = new_secret() if with_token else None
        now = self.clock()
        with self._locked():
            users = self._read()
            old = users.get(user_id)
            user = User(
                id=user_id, role=role, department_id=department_id, machine=machine,
                name=name if name is not None else (old.name if old else None),
                token_hash=hash_secret(secret) if secret else (old.token_hash if old else None),
                token_expires_at=(now + timedelta(days=token_days) if secret and token_days else
                                  None if secret else (old.token_expires_at if old else None)),
                password_hash=password_hash or (old.password_hash if old else None),
                disabled=old.disabled if old else False,
                created_at=old.created_at if old and old.created_at else now,
            )
            users[user.id] = user
            self._write(users)
        return make_token(user.id, secret) if secret else None

    def update(self, user_id: str, **changes) -> User | None:
        """Change some fields of a user (role, department_id, disabled, name, password_hash...)."""
        with self._locked():
            users = self._read()
            old = users.get(user_id)
            if old is None:
                return None
            user = User.model_validate({**old.model_dump(), **changes})
            users[user_id] = user
            self._write(users)
        return user

    def issue_link(self, user_id: str, hours: float) -> tuple[str, datetime] | None:
        """A one-time set-password token `<user id>.<secret>`; a new one replaces the old."""
        secret = secrets.token_urlsafe(32)
        expires = self.clock() + timedelta(hours=hours)
        if self.update(user_id, link_hash=link_digest(secret), link_expires_at=expires) is None:
            return None
        return make_token(user_id, secret), expires

    def redeem_link(self, token: str, password_hash: str) -> User | None:
        """Set the password if the link is valid; the link is spent either way once it matched."""
        parts = split_token(token)
        if parts is None:
            return None
        user_id, secret = parts
        with self._locked():
            users = self._read()
            u = users.get(user_id)
            if (u is None or u.link_hash is None or u.link_expires_at is None or u.link_expires_at <= self.clock()
                    or not hmac.compare_digest(u.link_hash, link_digest(secret))):
                return None
            user = u.model_copy(update={"password_hash": password_hash, "link_hash": None, "link_expires_at": None})
            users[user_id] = user
            self._write(users)
        return user

    def remove(self, user_id: str) -> bool:
        with self._locked():
            users = self._read()
            found = users.pop(user_id, None) is not None
            if found:
                self._write(users)
        return found

    # -- file -------------------------------------------------------------------------------
    def _load(self) -> dict[str, User]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._cache, self._stamp = {}, None
            return self._cache
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._cache, self._stamp = self._read(), stamp
        return self._cache

    def _read(self) -> dict[str, User]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {u["id"]: User.model_validate(u) for u in raw.get("users", [])}

    def _write(self, users: dict[str, User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"users": [u.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
                          | {"id": u.id, "role": u.role} for u in sorted(users.values(), key=lambda u: u.id)]}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(body, f, ensure_ascii=False, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    @contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
