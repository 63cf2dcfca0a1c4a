"""Kiosk pairing: a kiosk page takes reviews only from the browser an admin paired with its terminal.

An admin issues a one-time code (`haocha terminal pair ID`, or the console's 配对码 button: both
call `issue_pairing_code`): 8 digits, valid settings.gateway_kiosk_pairing_minutes. The terminal's
record keeps only a keyed digest of it (HMAC under settings.secret_key, so a copy of the topic does
not give the code away to someone trying all 10^8). The kiosk page asks for the code once; the
gateway that takes it writes the record again without the code and with the digest of a new device
credential, which the browser keeps as an HttpOnly cookie scoped to /kiosk/<id>/ and sends with
every post. A new pairing replaces the browser; `haocha terminal unpair ID` or revoking the
terminal drops it. Several wrong codes void the code (settings.gateway_kiosk_pairing_attempts).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from apps.gateway.errors import GatewayError
from apps.gateway.registry import ACTIVE, Registry, Terminal, TerminalRecord, read_registry, write_record
from haocha.adapters.clock import Clock, SystemClock
from haocha.settings import Settings

CODE_DIGITS = 8
COOKIE = "haocha_kiosk"
COOKIE_DAYS = 400  # browsers keep a cookie at most this long; every config load renews it
_CODE = re.compile(rf"^[0-9]{{{CODE_DIGITS}}}$")
_TOKEN = re.compile(r"^hkd_[A-Za-z0-9_\-]{43}$")


class PairingDigests:
    """Keyed digests of pairing codes and device credentials, bound to their terminal."""

    def __init__(self, secret_key: str):
        self._key = hmac.new(secret_key.encode("utf-8"), b"haocha kiosk pairing v1", hashlib.sha256).digest()

    def code(self, terminal_id: str, code: str) -> str:
        return self._digest(f"code\x00{terminal_id}\x00{code}")

    def device(self, terminal_id: str, token: str) -> str:
        return self._digest(f"device\x00{terminal_id}\x00{token}")

    def _digest(self, text: str) -> str:
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def new_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def new_device_token() -> str:
    return "hkd_" + secrets.token_urlsafe(32)


# --- administration: the CLI and the console's admin endpoint -------------------------------------


async def issue_pairing_code(settings: Settings, terminal_id: str, *,
                             clock: Clock = SystemClock()) -> tuple[TerminalRecord, str]:
    """A new one-time code for a kiosk (an earlier unused one stops working); the record and the code."""
    existing = (await read_registry(settings)).get(terminal_id)
    if existing is None:
        raise ValueError(f"unknown terminal {terminal_id}")
    if existing.status != ACTIVE:
        raise ValueError(f"terminal {terminal_id} is revoked")
    if existing.channel != "kiosk":
        raise ValueError(f"terminal {terminal_id} is a {existing.channel}, not a kiosk: only kiosk pages are paired")
    code = new_code()
    expires = clock.now() + timedelta(minutes=settings.gateway_kiosk_pairing_minutes)
    record = replace(existing, pairing_digest=PairingDigests(settings.secret_key.get_secret_value()).code(terminal_id, code),
                     pairing_expires_at=expires.isoformat())
    await write_record(settings, record)
    return record, code


async def unpair_device(settings: Settings, terminal_id: str) -> TerminalRecord:
    """The paired browser (and a pending code) no longer works; the terminal stays registered."""
    existing = (await read_registry(settings)).get(terminal_id)
    if existing is None:
        raise ValueError(f"unknown terminal {terminal_id}")
    record = replace(existing, pairing_digest=None, pairing_expires_at=None, device_digest=None, paired_at=None)
    await write_record(settings, record)
    return record


# --- the gateway's side: the kiosk page -----------------------------------------------------------


class KioskDevices:
    def __init__(self, settings: Settings, registry: Registry, clock: Clock):
        self.digests = PairingDigests(settings.secret_key.get_secret_value())
        self.registry = registry
        self.clock = clock
        self.attempts = settings.gateway_kiosk_pairing_attempts
        self._wrong: dict[tuple[str, str], int] = {}  # (terminal, code digest) -> wrong codes so far

    async def pair(self, terminal: Terminal, code: object) -> str:
        """Take the code; the new device credential (the browser's cookie)."""
        rec, now = terminal.record, self.clock.now()
        if not rec.pairing_digest or not rec.pairing_expires_at:
            raise GatewayError("pairing_failed", f"no pairing code is pending for kiosk {rec.terminal_id}; "
                               "an admin issues one (haocha terminal pair)")
        if now >= datetime.fromisoformat(rec.pairing_expires_at):
            raise GatewayError("pairing_failed", f"the pairing code expired at {rec.pairing_expires_at}; issue a new one")
        pending = (rec.terminal_id, rec.pairing_digest)
        if self._wrong.get(pending, 0) >= self.attempts:
            raise GatewayError("pairing_failed", f"{self.attempts} wrong codes: this pairing code is void; issue a new one")
        if not isinstance(code, str) or not _CODE.match(code) or \
                not hmac.compare_digest(self.digests.code(rec.terminal_id, code), rec.pairing_digest):
            self._wrong[pending] = self._wrong.get(pending, 0) + 1
            raise GatewayError("pairing_failed", "wrong pairing code")
        token = new_device_token()
        await self.registry.write(replace(rec, pairing_digest=None, pairing_expires_at=None, paired_at=now.isoformat(),
                                          device_digest=self.digests.device(rec.terminal_id, token)))
        self._wrong.pop(pending, None)
        return token

    def check(self, terminal: Terminal, token: str | None) -> None:
        digest = terminal.record.device_digest
        if not token or not digest or not _TOKEN.match(token) or \
                not hmac.compare_digest(self.digests.device(terminal.terminal_id, token), digest):
            raise GatewayError("kiosk_unpaired", f"this browser is not the one paired with kiosk {terminal.terminal_id}; "
                               "an admin issues a pairing code (haocha terminal pair)")
