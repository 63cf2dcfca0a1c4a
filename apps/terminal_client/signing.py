"""Request signing shared by terminals and the gateway (standard library only).

Terminal vendors port this file; docs/gateway.md has the same rules with a worked example.

    canonical = METHOD "\n" PATH "\n" TIMESTAMP "\n" NONCE "\n" hex(H(body))
    signature = hex(HMAC-H(key, canonical))

H is SHA-256 for `hmac-sha256` (the default) and SM3 for `sm3-hmac` (国密, where the runtime has
SM3: OpenSSL's via hashlib, else gmssl's pure-Python one). PATH is the request target exactly as
sent on the wire, query string included. TIMESTAMP is Unix seconds at signing time (not when the
review happened: a review queued for days is signed when it is finally sent). The HMAC key is the
terminal key string as printed by `haocha terminal register`, as ASCII bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

ALG_HMAC_SHA256 = "hmac-sha256"
ALG_SM3_HMAC = "sm3-hmac"
ALGORITHMS = (ALG_HMAC_SHA256, ALG_SM3_HMAC)

H_TERMINAL = "X-Haocha-Terminal"
H_TIMESTAMP = "X-Haocha-Timestamp"
H_NONCE = "X-Haocha-Nonce"
H_SIGNATURE = "X-Haocha-Signature"
H_ALG = "X-Haocha-Alg"

_SM3_BLOCK = 64


def _sm3_openssl() -> bool:
    try:
        hashlib.new("sm3", b"")
        return True
    except (ValueError, TypeError):
        return False


_HAS_OPENSSL_SM3 = _sm3_openssl()


def sm3_available() -> bool:
    if _HAS_OPENSSL_SM3:
        return True
    try:
        import gmssl.sm3  # noqa: F401
    except ImportError:
        return False
    return True


def sm3(data: bytes) -> bytes:
    if _HAS_OPENSSL_SM3:
        return hashlib.new("sm3", data).digest()
    return _sm3_gmssl(data)


def _sm3_gmssl(data: bytes) -> bytes:
    from gmssl import sm3 as gm  # pure Python: fine for a terminal's few requests

    return bytes.fromhex(gm.sm3_hash(list(data)))


def hmac_sm3(key: bytes, msg: bytes, digest=sm3) -> bytes:
    """RFC 2104 HMAC over SM3 (block 64 bytes), spelled out so it works with gmssl as well."""
    if len(key) > _SM3_BLOCK:
        key = digest(key)
    key = key.ljust(_SM3_BLOCK, b"\0")
    inner = digest(bytes(b ^ 0x36 for b in key) + msg)
    return digest(bytes(b ^ 0x5C for b in key) + inner)


def body_digest(body: bytes, alg: str = ALG_HMAC_SHA256) -> str:
    if alg == ALG_HMAC_SHA256:
        return hashlib.sha256(body).hexdigest()
    if alg == ALG_SM3_HMAC:
        return sm3(body).hex()
    raise ValueError(f"unsupported algorithm {alg!r}; use one of {', '.join(ALGORITHMS)}")


def canonical_string(method: str, path: str, timestamp: str, nonce: str, body: bytes, alg: str = ALG_HMAC_SHA256) -> bytes:
    return "\n".join((method.upper(), path, timestamp, nonce, body_digest(body, alg))).encode("utf-8")


def signature(key: str | bytes, canonical: bytes, alg: str = ALG_HMAC_SHA256) -> str:
    k = key.encode("ascii") if isinstance(key, str) else key
    if alg == ALG_HMAC_SHA256:
        return hmac.new(k, canonical, hashlib.sha256).hexdigest()
    if alg == ALG_SM3_HMAC:
        return hmac_sm3(k, canonical).hex()
    raise ValueError(f"unsupported algorithm {alg!r}; use one of {', '.join(ALGORITHMS)}")


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def sign_headers(
    key: str, terminal_id: str, method: str, path: str, body: bytes, *, alg: str = ALG_HMAC_SHA256,
    timestamp: int | None = None, nonce: str | None = None,
) -> dict[str, str]:
    """The five headers of a signed request. `timestamp` defaults to now (Unix seconds)."""
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    nonce = nonce or new_nonce()
    sig = signature(key, canonical_string(method, path, ts, nonce, body, alg), alg)
    return {H_TERMINAL: terminal_id, H_TIMESTAMP: ts, H_NONCE: nonce, H_SIGNATURE: sig, H_ALG: alg}
