"""Terminal keys: generated here, shown once, stored only encrypted.

HMAC needs the key on the server, so it cannot be hashed like a password. It is sealed
(haocha/adapters/sealing.py: AES-256-GCM under a key derived from settings.secret_key); the
terminal id is the associated data, so a sealed key copied onto another terminal's record does
not open.
"""

from __future__ import annotations

import secrets

from haocha.adapters.sealing import TERMINAL_KEYS, OtherSecretError, SealError, Sealer

KEY_PREFIX = "hck_"  # recognisable in leaked logs and by secret scanners


def new_terminal_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class KeySealer:
    def __init__(self, secret_key: str):
        if not secret_key:
            raise ValueError("settings.secret_key is empty: terminal keys cannot be protected")
        self._sealer = Sealer(secret_key, TERMINAL_KEYS)
        self.kid = self._sealer.kid

    def seal(self, terminal_id: str, key: str) -> str:
        return self._sealer.seal(key.encode("ascii"), terminal_id.encode("utf-8"))

    def open(self, terminal_id: str, sealed: str) -> str:
        try:
            return self._sealer.open(sealed, terminal_id.encode("utf-8")).decode("ascii")
        except OtherSecretError as exc:
            raise ValueError(f"key sealed under another secret_key (kid {exc.kid}, current {exc.current}): "
                             "re-register with --rotate") from None
        except SealError as exc:
            raise ValueError(str(exc).replace("sealed value", "sealed key")) from exc
