"""Terminal keys: generated here, shown once, stored only encrypted.

HMAC needs the key on the server, so it cannot be hashed like a password. It is sealed with
AES-256-GCM under a key derived (HKDF-SHA256) from settings.secret_key; the terminal id is the
associated data, so a sealed key copied onto another terminal's record does not open.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from Cryptodome.Cipher import AES
from Cryptodome.Hash import SHA256
from Cryptodome.Protocol.KDF import HKDF

KEY_PREFIX = "hck_"  # recognisable in leaked logs and by secret scanners
_INFO = b"haocha gateway terminal keys v1"
_VERSION = "v1"


def new_terminal_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class KeySealer:
    def __init__(self, secret_key: str):
        if not secret_key:
            raise ValueError("settings.secret_key is empty: terminal keys cannot be protected")
        self._key = HKDF(secret_key.encode("utf-8"), 32, b"haocha", SHA256, context=_INFO)
        # Which secret sealed a record: a clear error after a secret_key change instead of "bad tag".
        self.kid = hashlib.sha256(b"kid" + self._key).hexdigest()[:12]

    def seal(self, terminal_id: str, key: str) -> str:
        nonce = secrets.token_bytes(12)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        cipher.update(terminal_id.encode("utf-8"))
        ct, tag = cipher.encrypt_and_digest(key.encode("ascii"))
        return ":".join((_VERSION, self.kid, _b64(nonce), _b64(ct + tag)))

    def open(self, terminal_id: str, sealed: str) -> str:
        try:
            version, kid, nonce, blob = sealed.split(":")
        except ValueError as exc:
            raise ValueError("malformed sealed key") from exc
        if version != _VERSION:
            raise ValueError(f"unknown sealed-key version {version}")
        if kid != self.kid:
            raise ValueError(f"key sealed under another secret_key (kid {kid}, current {self.kid}): re-register with --rotate")
        raw = _unb64(blob)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=_unb64(nonce))
        cipher.update(terminal_id.encode("utf-8"))
        return cipher.decrypt_and_verify(raw[:-16], raw[-16:]).decode("ascii")


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
