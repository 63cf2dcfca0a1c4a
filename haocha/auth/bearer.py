"""The bearer check: `Authorization: Bearer <token>` -> the Actor the token stands for."""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

from haocha.auth.tokens import split_token, verify_secret
from haocha.auth.users import UserFile
from schemas.tickets import Actor

ADMIN_ID = "admin"


class Authenticator:
    def __init__(self, users: UserFile, admin_token: SecretStr | None = None):
        self.users = users
        self._admin = admin_token.get_secret_value() if admin_token else None
        # Verified tokens, keyed by their SHA-256 (never the token itself), so scrypt runs once
        # per token and file version, not once per request.
        self._verified: dict[str, Actor] = {}
        self._stamp = None

    def actor_for_header(self, header: str | None) -> Actor | None:
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.actor_for_token(token.strip())

    def actor_for_token(self, token: str) -> Actor | None:
        if self._admin and hmac.compare_digest(token.encode(), self._admin.encode()):
            return Actor(id=ADMIN_ID, role="admin")
        stamp = self.users.stamp
        if stamp != self._stamp:  # a user was added, re-keyed or removed
            self._verified.clear()
            self._stamp = stamp
        key = hashlib.sha256(token.encode()).hexdigest()
        if key in self._verified:
            return self._verified[key]
        parts = split_token(token)
        if parts is None:
            return None
        user = self.users.get(parts[0])
        if user is None or not verify_secret(parts[1], user.token_hash):
            return None
        actor = Actor(id=user.id, role=user.role, department_id=user.department_id)
        self._verified[key] = actor
        return actor
