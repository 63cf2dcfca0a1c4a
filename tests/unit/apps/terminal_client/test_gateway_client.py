"""The store-and-forward terminal client against an in-process gateway on a real socket (memory
publisher). The kill -9 test against the real broker is in tests/integration/test_gateway_client_kill.py."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from apps.terminal_client import GatewayClient, Queue, StoreAndForward, TerminalMisconfigured, new_review
from tests.support.gateway_harness import ThreadedGateway

HALL, WINDOW, OTHER_WINDOW = "H-CY", "H-CY-W01", "H-CY-W02"


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def gw(tmp_path):
    with ThreadedGateway(tmp_path) as g:
        g.add_terminal("P1", HALL, WINDOW)
        yield g


def _saf(gw, tmp_path, url=None, **kw) -> StoreAndForward:
    client = GatewayClient(url or gw.url, "P1", gw.keys["P1"], timeout=5)
    sleeps: list[float] = []
    saf = StoreAndForward(client, Queue(tmp_path / "queue.sqlite"), sleep=sleeps.append, **kw)
    saf.sleeps = sleeps  # type: ignore[attr-defined]
    return saf


def _reviews(n: int, **kw) -> list[dict]:
    t0 = datetime.now(UTC) - timedelta(hours=2)
    return [new_review("P1", HALL, WINDOW, rating=1 + i % 5, case_no=f"C-{i}", reasons=["效率低"] if i % 5 < 2 else (),
                       happened_at=t0 + timedelta(minutes=i), **kw) for i in range(n)]


def test_offline_reviews_wait_in_the_queue_and_drain_in_order(gw, tmp_path):
    offline = _saf(gw, tmp_path, url=_closed_port_url())
    reviews = _reviews(12)
    for r in reviews:
        offline.submit(r)  # the gateway is away: each stays queued, nothing raised
    assert offline.queue.counts() == {"pending": 12, "sent": 0, "rejected": 0}
    offline.queue.close()

    online = _saf(gw, tmp_path, batch_size=5)
    res = online.drain()
    assert (res.sent, res.remaining, res.stopped) == (12, 0, "empty")
    assert gw.produced_ids() == [r["review_id"] for r in reviews]  # in order, once each
    assert all(res.answers[r["review_id"]]["status"] == "accepted" for r in reviews)
    assert online.queue.counts() == {"pending": 0, "sent": 12, "rejected": 0}
    # Queuing an already-sent review again is a no-op.
    online.queue.enqueue(reviews[0])
    assert online.queue.counts()["pending"] == 0


def test_backoff_grows_while_unreachable_then_drains(gw, tmp_path):
    saf = _saf(gw, tmp_path, url=_closed_port_url(), backoff_initial=1, backoff_max=4)
    saf.queue.enqueue(_reviews(1)[0])

    def sleep(seconds: float) -> None:
        saf.sleeps.append(seconds)
        if len(saf.sleeps) == 4:
            saf.client.base_url = gw.url  # the hall network is back

    saf.sleep = sleep
    res = saf.drain()
    assert res.sent == 1 and res.remaining == 0
    # 1, 2, 4, 4 (capped), each with +-20 % jitter
    for got, want in zip(saf.sleeps, [1, 2, 4, 4]):
        assert want * 0.8 <= got <= want * 1.2


def test_a_wrong_device_clock_is_corrected_for_signing(gw, tmp_path):
    saf = _saf(gw, tmp_path)
    saf.client.offset = -3600  # the pad's clock is an hour behind
    saf.queue.enqueue(_reviews(1)[0])
    res = saf.drain()
    assert res.sent == 1 and "stale_timestamp" in res.errors[0]
    assert abs(saf.client.offset) < 60
    assert abs(float(saf.queue.get_meta("clock_offset"))) < 60  # remembered for the next run


def test_permanently_refused_reviews_leave_the_queue_and_order_is_kept(gw, tmp_path):
    saf = _saf(gw, tmp_path, batch_size=10)
    good = _reviews(3)
    bad = new_review("P1", HALL, OTHER_WINDOW, rating=1, reasons=["态度差"])  # not this pad's window
    for r in (good[0], bad, good[1], good[2]):
        saf.queue.enqueue(r)
    res = saf.drain()
    assert (res.sent, res.rejected, res.remaining) == (3, 1, 0)
    assert gw.produced_ids() == [r["review_id"] for r in good]
    assert saf.queue.rejected()[0]["error"] == "window_mismatch"
    assert res.answers[bad["review_id"]]["error"] == "window_mismatch"


def test_revoked_terminal_stops_and_keeps_the_queue(gw, tmp_path):
    gw.revoke("P1")
    saf = _saf(gw, tmp_path)
    saf.queue.enqueue(_reviews(1)[0])
    with pytest.raises(TerminalMisconfigured, match="terminal_revoked"):
        saf.drain()
    assert saf.queue.counts()["pending"] == 1


def test_rate_limited_client_waits_retry_after(tmp_path):
    with ThreadedGateway(tmp_path, gateway_rate_per_second=2, gateway_rate_burst=1) as g:
        g.add_terminal("P1", HALL, WINDOW)
        saf = _saf(g, tmp_path, batch_size=1)
        saf.sleep = lambda s: (saf.sleeps.append(s), time.sleep(s))
        for r in _reviews(2):
            saf.queue.enqueue(r)
        res = saf.drain()
        assert res.sent == 2 and "rate_limited" in res.errors[0]
        assert saf.sleeps and saf.sleeps[0] >= 0.8  # Retry-After: 1 (whole seconds), with jitter


def test_sm3_client(tmp_path):
    with ThreadedGateway(tmp_path) as g:
        g.add_terminal("P1", HALL, WINDOW)
        client = GatewayClient(g.url, "P1", g.keys["P1"], alg="sm3-hmac")
        r = client.post_review(_reviews(1)[0])
        assert r.status == 202, r.body
        assert client.whoami().body["window_id"] == WINDOW
