"""`haocha terminal pair|unpair` (the console's pairing-code endpoint calls the same function)."""

from __future__ import annotations

import pytest

from apps import cli
from apps.gateway.registry import TerminalRecord
from haocha.settings import Settings


def record(**kw) -> TerminalRecord:
    fields = dict(terminal_id="KIOSK-1", hall_id="H-CY", window_id="H-CY-W03", channel="kiosk", status="active",
                  sealed_key="sealed", registered_at="2021-05-06T01:00:00+00:00")
    return TerminalRecord(**{**fields, **kw})


@pytest.fixture
def pairing(monkeypatch):
    from apps.gateway import pairing as mod
    from haocha import settings as settings_mod

    async def issue(settings, terminal_id, **kw):
        if terminal_id != "KIOSK-1":
            raise ValueError(f"terminal {terminal_id} is a pad, not a kiosk: only kiosk pages are paired")
        return record(pairing_digest="d", pairing_expires_at="2021-05-06T01:10:00+00:00"), "12345678"

    async def unpair(settings, terminal_id):
        return record()

    monkeypatch.setattr(mod, "issue_pairing_code", issue)
    monkeypatch.setattr(mod, "unpair_device", unpair)
    monkeypatch.setattr(settings_mod, "load", lambda: Settings())


def test_pair_prints_the_code_its_expiry_and_where_to_type_it(pairing, capsys):
    assert cli.main(["terminal", "pair", "KIOSK-1"]) == 0
    out = capsys.readouterr().out
    assert "1234 5678" in out and "2021-05-06T09:10:00+08:00" in out and "/kiosk/KIOSK-1/" in out


def test_pair_refuses_a_pad_with_exit_1(pairing, capsys):
    assert cli.main(["terminal", "pair", "PAD-1"]) == 1
    assert "not a kiosk" in capsys.readouterr().err


def test_unpair(pairing, capsys):
    assert cli.main(["terminal", "unpair", "KIOSK-1"]) == 0
    assert "no browser is paired" in capsys.readouterr().out


def test_the_console_endpoint_uses_the_same_code_store(monkeypatch):
    import asyncio

    from apps.api.console_build import terminal_door
    from apps.gateway import pairing as mod

    seen = {}

    async def issue(settings, terminal_id, **kw):
        seen["id"] = terminal_id
        return record(pairing_expires_at="2021-05-06T01:10:00+00:00"), "87654321"

    monkeypatch.setattr(mod, "issue_pairing_code", issue)
    door = terminal_door(Settings(), lambda: None, None)
    assert asyncio.run(door.pairing_code("KIOSK-1")) == {"code": "87654321", "expires_at": "2021-05-06T01:10:00+00:00"}
    assert seen["id"] == "KIOSK-1"
