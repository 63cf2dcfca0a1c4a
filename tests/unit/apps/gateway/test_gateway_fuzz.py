"""Property-based fuzzing of the gateway over HTTP (in-memory publisher): whatever arrives, signed or
not, the answer is never a 5xx, every refusal carries a known code, and every 202 put exactly one
review in the log. tests/integration/test_gateway_openapi_fuzz.py fuzzes the served OpenAPI
document against the real broker."""

from __future__ import annotations

import json
import string
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.gateway.errors import STATUS
from tests.support.gateway_harness import ThreadedGateway
from apps.terminal_client.signing import sign_headers
from schemas.review import ReviewSubmitted

HALL, WINDOW = "H-CY", "H-CY-W01"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    with ThreadedGateway(tmp_path_factory.mktemp("fuzz"), gateway_refusal_rate_per_second=0,
                         gateway_max_body_bytes=16384) as g:
        g.add_terminal("F1", HALL, WINDOW)
        g.http = httpx.Client(base_url=g.url, timeout=10)  # type: ignore[attr-defined]
        yield g
        g.http.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=15,
)
FIELDS = sorted(ReviewSubmitted.model_fields) + ["unknown_field"]


def _valid() -> dict:
    return {"review_id": "r", "channel": "pad", "hall_id": HALL, "window_id": WINDOW, "terminal_id": "F1",
            "rating": 4, "happened_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}


@st.composite
def reviews(draw) -> dict:
    r = _valid()
    r["review_id"] = draw(st.uuids()).hex
    for f in draw(st.sets(st.sampled_from(FIELDS), max_size=3)):
        r.pop(f, None)
    r.update(draw(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3)))
    if draw(st.booleans()):
        r["comment"] = draw(st.text(alphabet=st.characters(max_codepoint=0x9FFF), max_size=60))
    return r


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    reviews().map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    st.integers(min_value=17000, max_value=40000).map(lambda n: b'{"comment":"' + b"x" * n + b'"}'),
)


def _check(resp: httpx.Response, ok: set[int]) -> dict:
    assert resp.status_code < 500, resp.text
    body = resp.json()
    if resp.status_code not in ok:
        assert body["error"] in STATUS and STATUS[body["error"]] == resp.status_code, body
        assert isinstance(body["detail"], str)
    return body


@FUZZ
@given(body=bodies)
def test_signed_single_posts_never_fail_the_server(gw, body):
    headers = sign_headers(gw.keys["F1"], "F1", "POST", "/v1/reviews", body)
    resp = gw.http.post("/v1/reviews", content=body, headers=headers)
    answer = _check(resp, {202})
    if resp.status_code == 202:
        assert Counter(gw.produced_ids())[answer["review_id"]] == 1


@FUZZ
@given(items=st.lists(st.one_of(reviews(), json_values), max_size=6))
def test_signed_batches_never_fail_the_server(gw, items):
    body = json.dumps({"reviews": items}).encode()
    headers = sign_headers(gw.keys["F1"], "F1", "POST", "/v1/reviews/batch", body)
    answer = _check(gw.http.post("/v1/reviews/batch", content=body, headers=headers), {200})
    if "results" in answer:
        assert len(answer["results"]) == len(items)
        produced = Counter(gw.produced_ids())
        for r in answer["results"]:
            assert r["status"] in ("accepted", "resend", "rejected")
            if r["status"] != "rejected":
                assert produced[r["review_id"]] == 1


header_text = st.text(alphabet=string.printable.strip() + " ", max_size=80)


@FUZZ
@given(terminal=header_text, ts=header_text, nonce=header_text, sig=header_text, alg=header_text,
       body=st.binary(max_size=200))
def test_forged_headers_are_refused_cleanly(gw, terminal, ts, nonce, sig, alg, body):
    headers = {"X-Haocha-Terminal": terminal, "X-Haocha-Timestamp": ts, "X-Haocha-Nonce": nonce,
               "X-Haocha-Signature": sig, "X-Haocha-Alg": alg}
    resp = gw.http.post("/v1/reviews", content=body, headers={k: v.strip() for k, v in headers.items()})
    _check(resp, set())
    assert resp.status_code in (401, 403)


@FUZZ
@given(review_id=st.text(alphabet=string.ascii_letters + string.digits + "-._~%", min_size=1, max_size=80))
def test_status_queries_never_fail_the_server(gw, review_id):
    path = f"/v1/reviews/{review_id}"
    headers = sign_headers(gw.keys["F1"], "F1", "GET", path, b"")
    resp = gw.http.get(path, headers=headers)
    _check(resp, {200})


@FUZZ
@given(payload=st.one_of(json_values, st.fixed_dictionaries(
    {"rating": json_values | st.integers(1, 5), "reasons": json_values, "phone": json_values,
     "review_id": json_values, "happened_at": json_values})))
def test_kiosk_posts_never_fail_the_server(gw, payload):
    if gw.registry.get("K1") is None:
        gw.add_terminal("K1", HALL, "H-CY-W02", channel="kiosk")
    resp = gw.http.post("/kiosk/K1/reviews", content=json.dumps(payload).encode())
    _check(resp, {202})


def test_fuzzing_really_reached_acceptance(gw):
    # Guards against a fuzzer that only ever produced garbage: valid reviews must be taken.
    body = orjson.dumps(_valid() | {"review_id": "fuzz-sanity"})
    resp = gw.http.post("/v1/reviews", content=body, headers=sign_headers(gw.keys["F1"], "F1", "POST", "/v1/reviews", body))
    assert resp.status_code == 202
