"""`haocha terminal register|revoke` and `haocha terminal-client send` as a hall's installer meets
them: the key shown once with a notice or written to a 0600 file, the gateway found through the same
variables as the gateway itself, and exit codes that say what happened (sent, refused, queued)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from apps import cli
from apps.gateway.registry import TerminalRecord
from apps.terminal_client import cli as client_cli
from haocha.adapters.net import free_port
from haocha.settings import Settings

KEY = "hck_" + "k" * 40
ISO_WITH_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d")


def record(**kw) -> TerminalRecord:
    fields = dict(terminal_id="PAD-1", hall_id="H-CY", window_id="H-CY-W03", channel="pad", status="active",
                  sealed_key="sealed", registered_at="2021-05-06T01:00:00+00:00")
    return TerminalRecord(**{**fields, **kw})


@pytest.fixture
def registry(monkeypatch):
    from apps.gateway import registry as reg
    from haocha import settings as settings_mod

    calls = {}

    async def register_terminal(settings, terminal_id, hall, window, **kw):
        calls["register"] = (terminal_id, hall, window, kw)
        return record(), KEY

    async def read_registry(settings):
        return {"PAD-1": record(status="revoked", revoked_at="2021-05-06T02:00:00+00:00")}

    async def revoke_terminal(settings, terminal_id, note=""):
        calls["revoke"] = terminal_id
        return record(revoked_at="2021-05-06T02:00:00+00:00")

    monkeypatch.setattr(reg, "register_terminal", register_terminal)
    monkeypatch.setattr(reg, "revoke_terminal", revoke_terminal)
    monkeypatch.setattr(reg, "read_registry", read_registry)
    monkeypatch.setattr(settings_mod, "load", lambda: Settings())
    return calls


def test_register_shows_the_key_once_with_a_notice(registry, capsys):
    assert cli.main(["terminal", "register", "PAD-1", "--hall", "H-CY", "--window", "H-CY-W03"]) == 0
    out, err = capsys.readouterr()
    assert registry["register"][:3] == ("PAD-1", "H-CY", "H-CY-W03")
    assert out == f"{KEY}\n"  # alone on stdout: `> pad.key` keeps exactly the key
    assert "save it now" in err and "shown once" in err and "2021-05-06T09:00:00+08:00" in err


def test_register_writes_the_key_to_a_private_file(registry, tmp_path, capsys):
    key_file = tmp_path / "pad.key"
    assert cli.main(["terminal", "register", "PAD-1", "--hall", "H-CY", "--window", "H-CY-W03",
                     "--key-out", str(key_file)]) == 0
    out, err = capsys.readouterr()
    assert key_file.read_text().strip() == KEY and key_file.stat().st_mode & 0o777 == 0o600
    assert KEY not in out + err and str(key_file) in out


def test_register_refuses_to_overwrite_a_key_file(registry, tmp_path, capsys):
    key_file = tmp_path / "pad.key"
    key_file.write_text("old")
    assert cli.main(["terminal", "register", "PAD-1", "--hall", "H-CY", "--window", "H-CY-W03",
                     "--key-out", str(key_file)]) == 1
    assert "exists" in capsys.readouterr().err and key_file.read_text() == "old"
    assert "register" not in registry  # refused before a key was issued


def test_revoke_confirms_in_local_time(registry, capsys):
    assert cli.main(["terminal", "revoke", "PAD-1"]) == 0
    assert capsys.readouterr().out.strip() == "terminal PAD-1 revoked at 2021-05-06T10:00:00+08:00"


def test_list_has_a_header_and_local_times(registry, capsys):
    assert cli.main(["terminal", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["terminal", "hall", "window"]
    assert lines[1].endswith("2021-05-06T09:00:00+08:00 / 2021-05-06T10:00:00+08:00")


# -- terminal-client ------------------------------------------------------------------------------


def test_the_gateway_is_found_through_the_gateways_own_variables(monkeypatch):
    monkeypatch.delenv("HAOCHA_TERMINAL_GATEWAY", raising=False)
    monkeypatch.setenv("HAOCHA_GATEWAY_PORT", "18123")
    monkeypatch.setenv("HAOCHA_GATEWAY_HOST", "10.0.0.7")
    assert client_cli.default_gateway() == "http://10.0.0.7:18123"
    monkeypatch.setenv("HAOCHA_TERMINAL_GATEWAY", "https://gw.example")
    assert client_cli.default_gateway() == "https://gw.example"
    for name in ("HAOCHA_TERMINAL_GATEWAY", "HAOCHA_GATEWAY_PORT", "HAOCHA_GATEWAY_HOST"):
        monkeypatch.delenv(name)
    s = Settings()
    assert client_cli.default_gateway() == f"http://{s.gateway_host}:{s.gateway_port}"


def _send(tmp_path, *extra) -> list[str]:
    key_file = tmp_path / "pad.key"
    key_file.write_text(KEY)
    return ["terminal-client", "send", "--terminal-id", "PAD-1", "--key-file", str(key_file),
            "--queue", str(tmp_path / "q.sqlite"), "--hall", "H-CY", "--window", "H-CY-W03", "--rating", "2", *extra]


def test_an_unreachable_gateway_is_named_and_the_review_stays_queued(tmp_path, monkeypatch, capsys):
    port = free_port()
    monkeypatch.delenv("HAOCHA_TERMINAL_GATEWAY", raising=False)
    monkeypatch.setenv("HAOCHA_GATEWAY_PORT", str(port))
    assert cli.main(_send(tmp_path, "--timeout", "2")) == 3
    out, err = capsys.readouterr()
    assert f"http://127.0.0.1:{port}" in err and "queued" in err and "drain" in err
    assert '"pending": 1' in out


@pytest.fixture
def refusing_gateway():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = json.dumps({"error": "unknown_window", "detail": "H-CY-W03 is not a window of H-XX"}).encode()
            self.send_response(422)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def test_a_rejected_review_exits_non_zero_and_times_are_local(tmp_path, refusing_gateway, capsys):
    assert cli.main(_send(tmp_path, "--gateway", refusing_gateway)) == 1
    out, err = capsys.readouterr()
    assert "rejected" in err and "unknown_window" in err
    status = ["terminal-client", "status", "--queue", str(tmp_path / "q.sqlite"), "--rejected"]
    assert cli.main(status) == 0
    rejected = json.loads(capsys.readouterr().out)["rejected_reviews"]
    assert len(rejected) == 1 and ISO_WITH_OFFSET.fullmatch(rejected[0]["rejected_at"])
