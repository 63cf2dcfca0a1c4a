"""Gateway unit tests: signing, refusals with their codes, idempotency, bad input, rate limits,
kiosk forwarding. In-process with an in-memory publisher; tests/integration covers the real broker."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from aiohttp.test_utils import TestClient, TestServer

from apps.gateway.app import create_app
from apps.gateway.crypto import KeySealer, new_terminal_key
from tests.support.gateway_harness import build_memory_gateway, revoked, terminal_record, with_pairing_code
from apps.gateway.ratelimit import TokenBuckets
from apps.gateway.registry import Registry
from apps.gateway.service import Gateway
from apps.gateway.publisher import MemoryPublisher
from apps.terminal_client import signing

HALL, WINDOW, OTHER_WINDOW = "H-CY", "H-CY-W01", "H-CY-W02"


@dataclass
class Env:
    gateway: Gateway
    publisher: MemoryPublisher
    registry: Registry
    sealer: KeySealer
    keys: dict[str, str]
    client: TestClient

    def add_terminal(self, terminal_id: str, window: str = WINDOW, channel: str = "pad") -> str:
        rec, key = terminal_record(self.sealer, terminal_id, HALL, window, channel=channel)
        self.registry.apply(terminal_id, rec.to_json())
        self.keys[terminal_id] = key
        return key

    def revoke(self, terminal_id: str) -> None:
        self.registry.apply(terminal_id, revoked(self.registry.get(terminal_id).record).to_json())

    def pairing_code(self, terminal_id: str, minutes: float = 10.0) -> str:
        rec, code = with_pairing_code(self.registry.get(terminal_id).record, minutes=minutes)
        self.registry.apply(terminal_id, rec.to_json())
        return code

    async def pair(self, terminal_id: str, client: TestClient | None = None):
        code = self.pairing_code(terminal_id)
        return await (client or self.client).post(f"/kiosk/{terminal_id}/pair", json={"code": code})

    async def signed(self, method: str, path: str, body: bytes = b"", terminal: str = "T1", **sign_kw):
        headers = signing.sign_headers(self.keys[terminal], terminal, method, path, body, **sign_kw)
        headers["Content-Type"] = "application/json"
        return await self.client.request(method, path, data=body, headers=headers)

    async def post(self, review: dict | list, terminal: str = "T1", path: str = "/v1/reviews", **sign_kw):
        return await self.signed("POST", path, orjson.dumps(review), terminal, **sign_kw)


async def make_env(tmp_path, **gs_overrides) -> Env:
    gw, publisher, registry, sealer = build_memory_gateway(tmp_path / "data", **gs_overrides)
    client = TestClient(TestServer(create_app(gw)))
    await client.start_server()
    env = Env(gw, publisher, registry, sealer, {}, client)
    env.add_terminal("T1")
    return env


def review(terminal: str = "T1", hall: str = HALL, window: str = WINDOW, **kw) -> dict:
    r = {
        "review_id": uuid.uuid4().hex, "channel": "pad", "hall_id": hall, "window_id": window,
        "terminal_id": terminal, "rating": 5,
        "happened_at": (datetime.now(UTC) - timedelta(seconds=30)).isoformat(),
    }
    r.update(kw)
    return r


@pytest.fixture
async def env(tmp_path):
    e = await make_env(tmp_path)
    yield e
    await e.client.close()


# --- signing ---------------------------------------------------------------------------------------


# The worked example of docs/gateway.md (cross-checked there with `openssl dgst`): vendors test
# their implementation against exactly these values.
DOC_KEY = "hck_3q2-7wEXAMPLEkeyDoNotUseInProduction0000"
DOC_BODY = ('{"review_id":"9b1f0c7e2d4a4f7e8c3b5a6d7e8f9a0b","case_no":"BJ-2021-000123","channel":"pad",'
            '"hall_id":"H-CY","window_id":"H-CY-W01","terminal_id":"PAD-CY-01","rating":2,"reasons":["等候时间长"],'
            '"happened_at":"2021-05-06T09:30:00+08:00"}').encode()


@pytest.mark.parametrize("alg,body_hash,sig", [
    ("hmac-sha256", "e9678f9dbed19a19c1e4d8769cc06e1a1d78f5a88de581c5e7bba5b9cc32050b",
     "8a9514b10e7158b6ffe0de57e18a646bf08968e92d73b8999c1c97f66430026e"),
    ("sm3-hmac", "e09f8643b8fe1aad642c46bb121b0a16e8823fec45d82e96043205879b133a7b",
     "76bb19a5cff1fd130eb73fe3b263e15b252bd32f80eca0901dcbcb9d9195454c"),
])
def test_documented_signature_example(alg, body_hash, sig):
    canonical = signing.canonical_string("POST", "/v1/reviews", "1620264660", "Zx8q3V0bPq7wLm2t", DOC_BODY, alg)
    assert canonical == f"POST\n/v1/reviews\n1620264660\nZx8q3V0bPq7wLm2t\n{body_hash}".encode()
    assert signing.signature(DOC_KEY, canonical, alg) == sig
    h = signing.sign_headers(DOC_KEY, "PAD-CY-01", "POST", "/v1/reviews", DOC_BODY, alg=alg, timestamp=1620264660,
                             nonce="Zx8q3V0bPq7wLm2t")
    assert h["X-Haocha-Signature"] == sig and h["X-Haocha-Alg"] == alg


def test_sm3_known_answer_and_both_implementations_agree():
    assert signing.sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert signing._sm3_gmssl(b"abc" * 100) == signing.sm3(b"abc" * 100)
    msg, key = b"message", b"k" * 70  # a key longer than the block is hashed first
    assert signing.hmac_sm3(key, msg) == signing.hmac_sm3(key, msg, digest=signing._sm3_gmssl)
    if "sm3" in hashlib.algorithms_available:
        assert signing.hmac_sm3(key, msg) == hmac.new(key, msg, "sm3").digest()


def test_sealed_keys_open_only_for_their_terminal_and_secret():
    sealer = KeySealer("s1")
    key = new_terminal_key()
    sealed = sealer.seal("T1", key)
    assert key not in sealed and sealer.open("T1", sealed) == key
    with pytest.raises(Exception):
        sealer.open("T2", sealed)  # associated data binds it to T1
    with pytest.raises(ValueError, match="another secret_key"):
        KeySealer("s2").open("T1", sealed)


def test_token_bucket_gives_retry_after():
    now = [0.0]
    tb = TokenBuckets(rate=2, burst=2, clock=lambda: now[0])
    assert tb.take("a") == 0 and tb.take("a") == 0
    assert tb.take("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert tb.take("a") == 0
    assert tb.take("b") == 0  # per key


# --- accepted ---------------------------------------------------------------------------------------


async def test_signed_review_is_accepted_with_receive_time(env):
    r = review(happened_at=(datetime.now(UTC) - timedelta(days=3)).isoformat(), received_at="2000-01-01T00:00:00Z")
    resp = await env.post(r)
    assert resp.status == 202, await resp.text()
    body = await resp.json()
    assert body["status"] == "accepted" and body["review_id"] == r["review_id"] and body["resend"] is False
    assert len(env.publisher.reviews) == 1
    key, value = env.publisher.reviews[0]
    sent = orjson.loads(value)
    assert key == HALL.encode()
    # Device time kept as sent, receive time set by the platform (a terminal cannot choose it).
    assert sent["happened_at"] == r["happened_at"]
    assert sent["received_at"] == body["received_at"] and not sent["received_at"].startswith("2000")


async def test_sm3_signed_review_is_accepted(env):
    resp = await env.post(review(), alg="sm3-hmac")
    assert resp.status == 202, await resp.text()


async def test_whoami_reports_binding_and_clock(env):
    resp = await env.signed("GET", "/v1/terminal")
    body = await resp.json()
    assert resp.status == 200 and body["window_id"] == WINDOW and abs(body["server_time"] - time.time()) < 60


# --- refusals: each with its own code, none produced ------------------------------------------------


async def _refused(resp, status: int, code: str) -> dict:
    body = await resp.json()
    assert resp.status == status, body
    assert body["error"] == code, body
    assert body["detail"]
    return body


async def test_unknown_terminal(env):
    env.keys["NOPE"] = new_terminal_key()
    await _refused(await env.post(review("NOPE"), terminal="NOPE"), 401, "unknown_terminal")


async def test_revoked_terminal(env):
    env.revoke("T1")
    await _refused(await env.post(review()), 403, "terminal_revoked")


async def test_bad_signature(env):
    env.keys["T1"] = new_terminal_key()  # the wrong key
    await _refused(await env.post(review()), 401, "bad_signature")


async def test_tampered_body(env):
    body = orjson.dumps(review())
    headers = signing.sign_headers(env.keys["T1"], "T1", "POST", "/v1/reviews", body)
    resp = await env.client.post("/v1/reviews", data=body.replace(b'"rating":5', b'"rating":1'), headers=headers)
    await _refused(resp, 401, "bad_signature")


async def test_signature_covers_the_path(env):
    body = orjson.dumps({"reviews": [review()]})
    headers = signing.sign_headers(env.keys["T1"], "T1", "POST", "/v1/reviews", body)
    await _refused(await env.client.post("/v1/reviews/batch", data=body, headers=headers), 401, "bad_signature")


@pytest.mark.parametrize("offset", [-301, 301, -86400])
async def test_stale_timestamp(env, offset):
    body = await _refused(await env.post(review(), timestamp=int(time.time()) + offset), 401, "stale_timestamp")
    assert abs(body["server_time"] - time.time()) < 60  # so a terminal can correct its clock


async def test_timestamp_inside_window_is_fine(env):
    resp = await env.post(review(), timestamp=int(time.time()) - 240)
    assert resp.status == 202


async def test_replayed_request_is_refused(env):
    body = orjson.dumps(review())
    headers = signing.sign_headers(env.keys["T1"], "T1", "POST", "/v1/reviews", body)
    first = await env.client.post("/v1/reviews", data=body, headers=headers)
    assert first.status == 202
    await _refused(await env.client.post("/v1/reviews", data=body, headers=headers), 401, "nonce_reused")
    assert len(env.publisher.reviews) == 1


async def test_missing_and_malformed_headers(env):
    await _refused(await env.client.post("/v1/reviews", data=b"{}"), 401, "auth_missing")
    body = orjson.dumps(review())
    h = signing.sign_headers(env.keys["T1"], "T1", "POST", "/v1/reviews", body)
    await _refused(await env.client.post("/v1/reviews", data=body, headers={**h, "X-Haocha-Alg": "md5"}),
                   401, "unsupported_alg")
    await _refused(await env.client.post("/v1/reviews", data=body, headers={**h, "X-Haocha-Timestamp": "soon"}),
                   401, "auth_malformed")


async def test_cross_window_and_cross_terminal_refused(env):
    env.add_terminal("T2", window=OTHER_WINDOW)
    await _refused(await env.post(review(window=OTHER_WINDOW)), 403, "window_mismatch")
    await _refused(await env.post(review(terminal="T2", window=OTHER_WINDOW)), 403, "terminal_mismatch")
    assert env.publisher.reviews == []
    assert [d.reason for d in env.publisher.dead] == ["window_mismatch", "terminal_mismatch"]


async def test_channel_must_be_the_terminals_registered_kind(env):
    # A pad claiming to be a kiosk or the 12345 hotline is refused, not stored as claimed.
    for claimed in ("kiosk", "hotline"):
        await _refused(await env.post(review(channel=claimed)), 403, "channel_mismatch")
    assert env.publisher.reviews == []
    assert [d.reason for d in env.publisher.dead] == ["channel_mismatch", "channel_mismatch"]
    assert (await env.post(review(channel="pad"))).status == 202


async def test_refusals_are_logged(env, caplog):
    env.keys["NOPE"] = new_terminal_key()
    with caplog.at_level("WARNING", logger="apps.gateway"):
        await env.post(review("NOPE"), terminal="NOPE")
    assert any("unknown_terminal" in r.getMessage() and "NOPE" in r.getMessage() for r in caplog.records)


# --- idempotency ---------------------------------------------------------------------------------------


async def test_resend_returns_original_outcome_without_a_second_review(env):
    r = review()
    first = await (await env.post(r)).json()
    again = await env.post(r)
    assert again.status == 202
    body = await again.json()
    assert body["resend"] is True and body["received_at"] == first["received_at"]
    assert len(env.publisher.reviews) == 1


async def test_resend_after_reserialisation_is_still_a_resend(env):
    r = review(comment="窗口服务很好")
    await env.post(r)
    body = orjson.dumps(r, option=orjson.OPT_SORT_KEYS)  # same review, other bytes
    resp = await env.signed("POST", "/v1/reviews", body)
    assert (await resp.json())["resend"] is True and len(env.publisher.reviews) == 1


async def test_same_review_id_other_content_conflicts(env):
    r = review()
    await env.post(r)
    await _refused(await env.post({**r, "rating": 1, "reasons": ["态度差"]}), 409, "review_id_conflict")
    assert len(env.publisher.reviews) == 1
    assert env.publisher.dead[-1].reason == "review_id_conflict"


async def test_concurrent_resends_produce_once(env):
    import asyncio

    r = review()
    resps = await asyncio.gather(*(env.post(r) for _ in range(8)))
    assert {x.status for x in resps} == {202}
    assert len(env.publisher.reviews) == 1


async def test_status_query_and_hints_for_case_and_repeat_press(env):
    first = review(case_no="BJ-2021-0001")
    await env.post(first)
    dup = await (await env.post(review(case_no="BJ-2021-0001"))).json()
    assert dup["hint"]["classification"] == "duplicate_case"
    t0 = datetime.now(UTC) - timedelta(seconds=20)
    await env.post(review(happened_at=t0.isoformat()))
    press = await (await env.post(review(happened_at=(t0 + timedelta(seconds=2)).isoformat()))).json()
    assert press["hint"]["classification"] == "repeat_press"
    later = await (await env.post(review(happened_at=(t0 + timedelta(seconds=15)).isoformat()))).json()
    assert later["hint"] is None
    # The stream's verdict, once learnt, is reported on a status query and on resends.
    env.gateway.store.set_classifications([(first["review_id"], "counted", "")])
    st = await env.signed("GET", f"/v1/reviews/{first['review_id']}")
    assert (await st.json())["classification"]["classification"] == "counted"
    resend = await (await env.post(first)).json()
    assert resend["classification"]["classification"] == "counted"


async def test_status_of_another_terminals_review_is_not_found(env):
    env.add_terminal("T2", window=OTHER_WINDOW)
    r = review()
    await env.post(r)
    await _refused(await env.signed("GET", f"/v1/reviews/{r['review_id']}", terminal="T2"), 404, "not_found")


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("body,status,code", [
    (b"", 400, "empty"),
    (b"{not json", 400, "not_json"),
    (b"[1,2]", 422, "schema"),
    (orjson.dumps({"review_id": "x"}), 422, "schema"),
])
async def test_bad_bodies(env, body, status, code):
    await _refused(await env.signed("POST", "/v1/reviews", body), status, code)
    assert env.publisher.reviews == []
    assert env.publisher.dead[-1].reason == code and env.publisher.dead[-1].raw == body.decode()


async def test_schema_violations_and_directory(env):
    await _refused(await env.post(review(rating=6)), 422, "schema")
    await _refused(await env.post(review(comment="好\x07")), 422, "schema")
    await _refused(await env.post(review(hall="H-NOWHERE")), 422, "unknown_hall")
    await _refused(await env.post(review(window="H-NH-W01")), 422, "unknown_window")
    await _refused(await env.post(review(happened_at=(datetime.now(UTC) + timedelta(days=2)).isoformat())),
                   422, "impossible_time")
    await _refused(await env.post(review(happened_at="2001-01-01T00:00:00+08:00")), 422, "impossible_time")
    assert env.publisher.reviews == []
    assert [d.reason for d in env.publisher.dead] == ["schema", "schema", "unknown_hall", "unknown_window",
                                                  "impossible_time", "impossible_time"]


@pytest.mark.parametrize("change", [
    {"rating": True}, {"rating": "2"}, {"rating": 2.0}, {"indicators": {"服务效率": "3"}},
    {"indicators": {"服务效率": True}}, {"evaluator": {"real_name": "yes"}}, {"evaluator": {"real_name": 1}},
])
async def test_strict_types_no_bool_string_or_float_for_a_number(env, change):
    await _refused(await env.post(review(**change)), 422, "schema")
    assert env.publisher.reviews == []


async def test_reasons_are_tags_of_the_list_and_a_bad_review_gives_one(env):
    await _refused(await env.post(review(rating=2)), 422, "reason_required")
    await _refused(await env.post(review(rating=1, reasons=[])), 422, "reason_required")
    await _refused(await env.post(review(rating=2, reasons=["=HYPERLINK(\"x\")"])), 422, "unknown_reason")
    await _refused(await env.post(review(rating=5, reasons=["随便写写"])), 422, "unknown_reason")
    assert env.publisher.reviews == []
    # 其他 is a tag; the evaluator's own words travel in the comment.
    assert (await env.post(review(rating=2, reasons=["其他"], comment="窗口无人"))).status == 202
    assert (await env.post(review(rating=1, reasons=["态度差", "效率低"]))).status == 202


async def test_non_utf8_body_is_kept_as_base64(env):
    await _refused(await env.signed("POST", "/v1/reviews", b"\xff\xfe"), 400, "not_json")
    assert env.publisher.dead[-1].raw_encoding == "base64"


async def test_oversized_body(tmp_path):
    env = await make_env(tmp_path, gateway_max_body_bytes=2048)
    try:
        big = orjson.dumps(review(comment="长" * 1500))
        resp = await env.signed("POST", "/v1/reviews", big)
        await _refused(resp, 413, "body_too_large")
        assert env.publisher.dead[-1].reason == "body_too_large" and env.publisher.reviews == []
    finally:
        await env.client.close()


async def test_unknown_route_and_method_are_json(env):
    await _refused(await env.client.get("/v2/nothing"), 404, "not_found")
    await _refused(await env.client.get("/v1/reviews"), 405, "method_not_allowed")


# --- batch ----------------------------------------------------------------------------------------


async def test_batch_answers_one_by_one(env):
    good, dup = review(), review()
    await env.post(dup)
    bad = review(rating=0)
    resp = await env.post({"reviews": [good, bad, dup, good]}, path="/v1/reviews/batch")
    body = await resp.json()
    assert resp.status == 200
    assert [x["status"] for x in body["results"]] == ["accepted", "rejected", "resend", "resend"]
    assert body["results"][1]["error"] == "schema"
    assert (body["accepted"], body["resent"], body["rejected"]) == (1, 2, 1)
    ids = [orjson.loads(v)["review_id"] for _, v in env.publisher.reviews]
    assert sorted(ids) == sorted([dup["review_id"], good["review_id"]])


async def test_batch_limits_and_shape(tmp_path):
    env = await make_env(tmp_path, gateway_max_batch=3)
    try:
        await _refused(await env.post({"reviews": [review() for _ in range(4)]}, path="/v1/reviews/batch"),
                       413, "batch_too_large")
        await _refused(await env.post([review()], path="/v1/reviews/batch"), 422, "schema")
    finally:
        await env.client.close()


# --- flow control ---------------------------------------------------------------------------------


async def test_rate_limit_gives_429_with_retry_after(tmp_path):
    env = await make_env(tmp_path, gateway_rate_per_second=0.01, gateway_rate_burst=2)
    try:
        assert (await env.post(review())).status == 202
        assert (await env.post(review())).status == 202
        resp = await env.post(review())
        await _refused(resp, 429, "rate_limited")
        assert int(resp.headers["Retry-After"]) >= 1
    finally:
        await env.client.close()


async def test_repeated_refusals_from_one_address_are_throttled(tmp_path):
    env = await make_env(tmp_path, gateway_refusal_rate_per_second=0.01, gateway_refusal_burst=3)
    try:
        codes = [(await (await env.client.post("/v1/reviews", data=b"{}")).json())["error"] for _ in range(5)]
        assert codes == ["auth_missing"] * 3 + ["rate_limited"] * 2
        assert (await env.post(review())).status == 202  # good requests are not affected
    finally:
        await env.client.close()


async def test_publisher_down_is_503_and_nothing_recorded(env):
    env.publisher.fail = True
    r = review()
    resp = await env.post(r)
    await _refused(resp, 503, "unavailable")
    env.publisher.fail = False
    assert (await (await env.post(r)).json())["resend"] is False  # the retry is taken, once
    assert len(env.publisher.reviews) == 1


# --- kiosk ------------------------------------------------------------------------------------------


async def test_kiosk_post_goes_through_the_signed_path(env):
    env.add_terminal("K1", window="H-CY-W03", channel="kiosk")
    assert (await env.pair("K1")).status == 200
    cfg = await (await env.client.get("/kiosk/K1/config")).json()
    assert [r["label"] for r in cfg["ratings"]] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    page = await env.client.get("/kiosk/K1/")
    assert page.status == 200 and "kiosk.js" in await page.text()
    resp = await env.client.post("/kiosk/K1/reviews", json={"review_id": "kabc", "rating": 1,
                                                            "reasons": ["态度差"], "phone": "13800138000"})
    assert resp.status == 202, await resp.text()
    sent = orjson.loads(env.publisher.reviews[-1][1])
    assert (sent["terminal_id"], sent["window_id"], sent["channel"]) == ("K1", "H-CY-W03", "kiosk")
    assert sent["evaluator"] == {"real_name": True, "phone": "13800138000"} and sent["reasons"] == ["态度差"]
    again = await env.client.post("/kiosk/K1/reviews", json={"review_id": "kabc", "rating": 1,
                                                             "reasons": ["态度差"], "phone": "13800138000",
                                                             "happened_at": sent["happened_at"]})
    assert (await again.json())["resend"] is True and len(env.publisher.reviews) == 1
    await _refused(await env.client.post("/kiosk/K1/reviews", json={"rating": 2, "phone": "12ab"}), 422, "schema")
    await _refused(await env.client.get("/kiosk/T1/config"), 404, "not_kiosk")  # a pad has no kiosk page
    env.revoke("K1")
    await _refused(await env.client.post("/kiosk/K1/reviews", json={"rating": 5}), 404, "not_kiosk")


async def test_openapi_document_is_served(env):
    doc = await (await env.client.get("/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    assert {"/v1/reviews", "/v1/reviews/batch", "/kiosk/{terminal_id}/reviews"} <= set(doc["paths"])
    assert "ReviewSubmitted" in doc["components"]["schemas"]


async def test_kiosk_pages_only_for_allowed_networks(tmp_path):
    env = await make_env(tmp_path, gateway_kiosk_allow_from="10.20.0.0/16")
    try:
        env.add_terminal("K1", window="H-CY-W03", channel="kiosk")
        # The test client comes from 127.0.0.1: not a hall network here.
        await _refused(await env.client.get("/kiosk/K1/config"), 403, "kiosk_forbidden")
        await _refused(await env.client.post("/kiosk/K1/reviews", json={"rating": 5}), 403, "kiosk_forbidden")
        assert env.publisher.reviews == []
    finally:
        await env.client.close()
    env = await make_env(tmp_path, gateway_kiosk_allow_from="127.0.0.0/8, ::1/128")
    try:
        env.add_terminal("K1", window="H-CY-W03", channel="kiosk")
        await env.pair("K1")
        assert (await env.client.post("/kiosk/K1/reviews", json={"rating": 5})).status == 202
    finally:
        await env.client.close()


# --- kiosk pairing: only the paired browser posts, at the gateway's time ----------------------------


def _browser(env):
    """A second browser on the same gateway (its own cookies)."""
    import aiohttp

    return aiohttp.ClientSession(base_url=str(env.client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_an_unpaired_browser_cannot_post_or_read_the_config(env):
    env.add_terminal("K1", window="H-CY-W03", channel="kiosk")
    await _refused(await env.client.post("/kiosk/K1/reviews", json={"rating": 5}), 401, "kiosk_unpaired")
    await _refused(await env.client.get("/kiosk/K1/config"), 401, "kiosk_unpaired")
    forged = await env.client.post("/kiosk/K1/reviews", json={"rating": 5},
                                   headers={"Cookie": "haocha_kiosk=hkd_" + "A" * 43})
    await _refused(forged, 401, "kiosk_unpaired")
    assert env.publisher.reviews == []


async def test_pairing_sets_a_private_cookie_and_the_code_works_once(env):
    env.add_terminal("K1", window="H-CY-W03", channel="kiosk")
    code = env.pairing_code("K1")
    await _refused(await env.client.post("/kiosk/K1/pair", json={"code": "00000000" if code != "00000000" else "11111111"}),
                   401, "pairing_failed")
    resp = await env.client.post("/kiosk/K1/pair", json={"code": code})
    assert resp.status == 200, await resp.text()
    cookie = resp.cookies["haocha_kiosk"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/kiosk/K1/"
    assert int(cookie["max-age"]) > 300 * 86400
    assert env.registry.get("K1").record.pairing_digest is None  # one time: the code is gone
    assert (await env.client.post("/kiosk/K1/reviews", json={"rating": 5})).status == 202
    async with _browser(env) as other:  # the same code a second time, from another browser
        await _refused(await other.post("/kiosk/K1/pair", json={"code": code}), 401, "pairing_failed")
    # Nothing of the code or the credential is in the record in clear.
    raw = env.registry.get("K1").record.to_json().decode()
    assert code not in raw and cookie.value not in raw


async def test_a_new_pairing_replaces_the_browser_and_revocation_ends_it(env):
    env.add_terminal("K1", window="H-CY-W03", channel="kiosk")
    await env.pair("K1")
    async with _browser(env) as other:
        assert (await env.pair("K1", other)).status == 200
        assert (await other.post("/kiosk/K1/reviews", json={"rating": 4})).status == 202
    await _refused(await env.client.post("/kiosk/K1/reviews", json={"rating": 5}), 401, "kiosk_unpaired")
    env.revoke("K1")
    await _refused(await env.client.get("/kiosk/K1/config"), 404, "not_kiosk")
    page = await env.client.get("/kiosk/K1/")  # a reload shows the page (which says so in Chinese), not JSON
    assert page.status == 200 and page.content_type == "text/html"


async def test_wrong_codes_void_the_code_and_an_expired_code_fails(env):
    env.add_terminal("K1", window="H-CY-W03", channel="kiosk")
    code = env.pairing_code("K1")
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(env.gateway.settings.gateway_kiosk_pairing_attempts):
        await _refused(await env.client.post("/kiosk/K1/pair", json={"code": wrong}), 401, "pairing_failed")
    body = await _refused(await env.client.post("/kiosk/K1/pair", json={"code": code}), 401, "pairing_failed")
    assert "void" in body["detail"]
    expired = env.pairing_code("K1", minutes=-1)
    body = await _refused(await env.client.post("/kiosk/K1/pair", json={"code": expired}), 401, "pairing_failed")
    assert "expired" in body["detail"]
    for junk in ({"code": 12345678}, {"code": "1234"}, [], {"nope": 1}):
        await _refused(await env.client.post("/kiosk/K1/pair", json=junk), 401, "pairing_failed")


async def test_the_kiosk_review_time_is_the_gateways(env):
    env.add_terminal("K1", window="H-CY-W03", channel="kiosk")
    await env.pair("K1")
    before = datetime.now(UTC).replace(microsecond=0)
    resp = await env.client.post("/kiosk/K1/reviews", json={"review_id": "kback", "rating": 5,
                                                            "happened_at": "2020-01-01T09:00:00+08:00"})
    assert resp.status == 202
    sent = orjson.loads(env.publisher.reviews[-1][1])
    assert before <= datetime.fromisoformat(sent["happened_at"]) <= datetime.now(UTC)
    time.sleep(1.1)  # a retry a second later is the same review, with its first time
    again = await env.client.post("/kiosk/K1/reviews", json={"review_id": "kback", "rating": 5})
    assert (await again.json())["resend"] is True and len(env.publisher.reviews) == 1


async def test_strangers_cannot_spend_the_kiosks_rate(tmp_path):
    env = await make_env(tmp_path, gateway_rate_per_second=0.5, gateway_rate_burst=3)
    try:
        env.add_terminal("K1", window="H-CY-W03", channel="kiosk")
        await env.pair("K1")
        async with _browser(env) as stranger:
            answers = [(await stranger.post("/kiosk/K1/reviews", json={"rating": 5})).status for _ in range(60)]
        assert set(answers) <= {401, 429} and 429 in answers  # throttled as refusals of their address
        for _ in range(3):  # the kiosk's own burst is untouched
            assert (await env.client.post("/kiosk/K1/reviews", json={"rating": 5})).status == 202
    finally:
        await env.client.close()
