"""Users in a JSON file in the data dir: id, role, department and the hash of their token.

The worker re-reads the file when it changes, so `haocha user add` takes effect without a restart.
Writes go to a temporary file renamed over the old one under a lock, so a reader never sees half
a file and two concurrent `user add` calls do not lose each other's user.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from haocha.auth.tokens import hash_secret, make_token, new_secret

UserRole = Literal["officer", "supervisor", "manager", "admin"]


class User(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    role: UserRole
    department_id: str | None = None
    token_hash: str

    @model_validator(mode="after")
    def _officer_has_department(self) -> "User":
        if self.role == "officer" and not self.department_id:
            raise ValueError("an officer belongs to a department (--department)")
        if "." in self.id or not self.id.strip():
            raise ValueError("a user id is non-empty and has no '.' (it prefixes the token)")
        return self


class UserFile:
    def __init__(self, path: Path):
        self.path = Path(path)
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

    def add(self, user_id: str, role: str, department_id: str | None = None) -> str:
        """Create or re-key a user; return the token (the only time it exists in clear)."""
        if role == "officer" and not department_id:
            raise ValueError("an officer belongs to a department (--department)")
        secret = new_secret()
        user = User(id=user_id, role=role, department_id=department_id, token_hash=hash_secret(secret))
        with self._locked():
            users = self._read()
            users[user.id] = user
            self._write(users)
        return make_token(user.id, secret)

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
        body = {"users": [u.model_dump() for u in sorted(users.values(), key=lambda u: u.id)]}
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
