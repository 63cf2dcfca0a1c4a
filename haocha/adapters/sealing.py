"""Sealing: AES-256-GCM under a key derived (HKDF-SHA256) from settings.secret_key, one key per
purpose. What only the platform may read back: terminal keys (the gateway) and the raw bytes of
dead letters (personal data must never be at rest in clear).

A sealed value is text, `v1:<kid>:<nonce>:<ciphertext+tag>` (URL-safe base64): the kid names the
secret that sealed it, so a changed secret_key says so instead of failing on a bad tag. The
associated data binds a value to its record (a terminal id, a dead letter's source): copied onto
another record it does not open.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from Cryptodome.Cipher import AES
from Cryptodome.Hash import SHA256
from Cryptodome.Protocol.KDF import HKDF

_VERSION = "v1"

# Purposes (HKDF contexts): one key each from the same secret.
TERMINAL_KEYS = b"haocha gateway terminal keys v1"
DEAD_LETTERS = b"haocha dead letters v1"


class SealError(ValueError):
    pass


class OtherSecretError(SealError):
    """Sealed under another secret_key than the one in force."""

    def __init__(self, kid: str, current: str):
        super().__init__(f"sealed under another secret_key (kid {kid}, current {current})")
        self.kid, self.current = kid, current


class Sealer:
    def __init__(self, secret_key: str, purpose: bytes):
        if not secret_key:
            raise ValueError("settings.secret_key is empty: nothing can be sealed")
        self._key = HKDF(secret_key.encode("utf-8"), 32, b"haocha", SHA256, context=purpose)
        self.kid = hashlib.sha256(b"kid" + self._key).hexdigest()[:12]

    def seal(self, data: bytes, associated: bytes = b"") -> str:
        nonce = secrets.token_bytes(12)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        cipher.update(associated)
        ct, tag = cipher.encrypt_and_digest(data)
        return ":".join((_VERSION, self.kid, _b64(nonce), _b64(ct + tag)))

    def open(self, sealed: str, associated: bytes = b"") -> bytes:
        try:
            version, kid, nonce, blob = sealed.split(":")
        except ValueError as exc:
            raise SealError("malformed sealed value") from exc
        if version != _VERSION:
            raise SealError(f"unknown sealed-value version {version}")
        if kid != self.kid:
            raise OtherSecretError(kid, self.kid)
        raw = _unb64(blob)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=_unb64(nonce))
        cipher.update(associated)
        try:
            return cipher.decrypt_and_verify(raw[:-16], raw[-16:])
        except ValueError as exc:
            raise SealError("the sealed value does not open here (another record, or altered)") from exc


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
