"""Verification of signed requests (the signing rules are in apps.terminal_client.signing).

Order of checks: headers, algorithm, terminal, signature, timestamp, nonce. The signature comes
before the timestamp and nonce so that only a key holder learns anything beyond "who are you", and
so that forged requests cannot burn a real terminal's nonces.
"""

from __future__ import annotations

import hmac
import heapq
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from apps.gateway.errors import GatewayError
from apps.gateway.registry import Registry, Terminal
from haocha.adapters.clock import Clock, SystemClock
from apps.terminal_client.signing import (
    ALG_HMAC_SHA256, ALG_SM3_HMAC, H_ALG, H_NONCE, H_SIGNATURE, H_TERMINAL, H_TIMESTAMP, canonical_string, signature,
    sm3_available,
)

_NONCE = re.compile(r"^[A-Za-z0-9._~\-]{8,128}$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_TS = re.compile(r"^[0-9]{1,12}$")


class NonceCache:
    """Nonces seen per terminal, each kept until its timestamp leaves the skew window.

    A nonce older than that cannot be replayed anyway: its timestamp would be refused. Memory is
    bounded by rate limit x window per terminal. With several gateways the cache is per process:
    route a terminal to one gateway (hash on X-Haocha-Terminal) or accept that the timestamp
    window bounds the exposure (docs/gateway.md).
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._expiry: list[tuple[float, str, str]] = []

    def add(self, terminal_id: str, nonce: str, expires_at: float, now: float) -> bool:
        """Record the nonce; False if it is already there (a replay)."""
        self._purge(now)
        key = (terminal_id, nonce)
        if key in self._seen:
            return False
        self._seen[key] = expires_at
        heapq.heappush(self._expiry, (expires_at, terminal_id, nonce))
        return True

    def _purge(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            _, tid, nonce = heapq.heappop(self._expiry)
            self._seen.pop((tid, nonce), None)

    def __len__(self) -> int:
        return len(self._seen)


class SignatureVerifier:
    """Which registered terminal signed this request (the API's bearer tokens are haocha.auth's)."""

    def __init__(self, registry: Registry, *, skew_seconds: float, algorithms: tuple[str, ...],
                 clock: Clock = SystemClock()):
        self.registry = registry
        self.skew = skew_seconds
        self.algorithms = tuple(a for a in algorithms if a != ALG_SM3_HMAC or sm3_available())
        self.clock = clock
        self.nonces = NonceCache()

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Terminal:
        missing = [h for h in (H_TERMINAL, H_TIMESTAMP, H_NONCE, H_SIGNATURE) if not headers.get(h)]
        if missing:
            raise GatewayError("auth_missing", f"missing header(s): {', '.join(missing)}")
        terminal_id, ts, nonce, sig = (headers[h] for h in (H_TERMINAL, H_TIMESTAMP, H_NONCE, H_SIGNATURE))
        alg = (headers.get(H_ALG) or ALG_HMAC_SHA256).strip().lower()
        if alg not in self.algorithms:
            raise GatewayError("unsupported_alg", f"{H_ALG} {alg!r} is not accepted; use one of {', '.join(self.algorithms)}")
        if not _TS.match(ts):
            raise GatewayError("auth_malformed", f"{H_TIMESTAMP} must be Unix seconds")
        if not _NONCE.match(nonce):
            raise GatewayError("auth_malformed", f"{H_NONCE} must be 8-128 characters of [A-Za-z0-9._~-]")
        if not _HEX.match(sig):
            raise GatewayError("auth_malformed", f"{H_SIGNATURE} must be 64 hex digits")

        terminal = self.registry.get(terminal_id)
        if terminal is None:
            raise GatewayError("unknown_terminal", f"terminal {terminal_id[:64]!r} is not registered")
        if not terminal.active:
            raise GatewayError("terminal_revoked", f"terminal {terminal_id} was revoked at {terminal.record.revoked_at}")
        if terminal.key is None:
            raise GatewayError("unknown_terminal", f"terminal {terminal_id} has no usable key: {terminal.key_error}")

        expected = signature(terminal.key, canonical_string(method, path, ts, nonce, body, alg), alg)
        if not hmac.compare_digest(expected, sig.lower()):
            raise GatewayError("bad_signature", "signature does not match (see docs/gateway.md: canonical string)")

        now = self.clock.now().timestamp()
        t = int(ts)
        if abs(now - t) > self.skew:
            raise GatewayError(
                "stale_timestamp",
                f"timestamp {t} is {now - t:+.0f} s from the gateway clock; allowed ±{self.skew:.0f} s",
                extra={"server_time": int(now), "server_time_iso": datetime.fromtimestamp(now, UTC).isoformat()},
            )
        if not self.nonces.add(terminal_id, nonce, t + self.skew + 1, now):
            raise GatewayError("nonce_reused", "this nonce was already used: a replayed request")
        return terminal
