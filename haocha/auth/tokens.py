"""Bearer tokens: `<user id>.<random secret>`, shown once, stored only as a salted scrypt hash.

The user id in front lets the server find the one hash to check instead of trying them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt cost: ~50 ms per check on a laptop; the API caches successful checks in memory.
_N, _R, _P = 2**14, 8, 1
_SCHEME = "scrypt"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def make_token(user_id: str, secret: str) -> str:
    return f"{user_id}.{secret}"


def split_token(token: str) -> tuple[str, str] | None:
    user_id, dot, secret = token.rpartition(".")
    return (user_id, secret) if dot and user_id and secret else None


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join([_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        got = hashlib.scrypt(secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
