"""Schemathesis against the OpenAPI document the gateway process serves, over the real broker.

Every operation, positive and negative generation, signed with a real terminal key (and, half the
time, bound to that terminal's hall and window so that many cases are really accepted and
produced), plus the same cases unsigned. Zero 5xx; every answer conforms to the document
(status code, content type, response schema)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance,
)
from schemathesis.core import NOT_SET

from apps.gateway.errors import STATUS
from tests.support.gateway_harness import GatewayProcess
from apps.gateway.registry import register_terminal
from apps.terminal_client.signing import sign_headers
from schemas.review import REASON_TAGS

pytestmark = pytest.mark.integration

HALL, WINDOW, KIOSK_WINDOW = "H-YC", "H-YC-W01", "H-YC-W02"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 20}


@pytest.fixture(scope="module")
def served(kafka_bootstrap, tmp_path_factory):
    from haocha.settings import Settings
    from haocha.adapters.kafka import ensure_topics
    from tests.conftest import free_port

    run = uuid.uuid4().hex[:8]
    s = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=f"tf{run}", partitions=2, gateway_port=free_port(),
                 data_dir=tmp_path_factory.mktemp("fuzz") / "data", secret_key=f"fuzz-{run}")
    asyncio.run(ensure_topics(s))
    _, key = asyncio.run(register_terminal(s, "FZ1", HALL, WINDOW))
    asyncio.run(register_terminal(s, "KZ1", HALL, KIOSK_WINDOW, channel="kiosk"))
    # Refusal throttling off: the fuzzer is one address sending thousands of bad requests.
    s = s.model_copy(update=dict(gateway_rate_per_second=0, gateway_refusal_rate_per_second=0))
    with GatewayProcess(s) as gp:
        gp.key = key
        gp.http = httpx.Client(base_url=gp.url, timeout=30)
        gp.schema = schemathesis.openapi.from_url(f"{gp.url}/v1/openapi.json")
        gp.accepted = 0
        yield gp
        gp.http.close()


OPERATIONS = [("/v1/reviews", "POST"), ("/v1/reviews/batch", "POST"), ("/v1/reviews/{review_id}", "GET"),
              ("/v1/terminal", "GET"), ("/kiosk/{terminal_id}/reviews", "POST"), ("/healthz", "GET")]
# /healthz takes no input at all: there is nothing to make invalid.
CASES = [(p, m, mode) for p, m in OPERATIONS for mode in GenerationMode if not (p == "/healthz" and mode.value == "negative")]


def _bind(body):
    """Make a generated review this terminal's own (its window, its channel, a reason of the list,
    its rating written as an integer: JSON Schema's integer admits 2.0, the gateway does not), so it
    can pass the checks and be produced."""
    if isinstance(body, dict) and "happened_at" in body:
        rating = body.get("rating")
        return body | {"rating": int(rating) if isinstance(rating, float) and rating.is_integer() else rating,
                       "terminal_id": "FZ1", "hall_id": HALL, "window_id": WINDOW, "channel": "pad",
                       "reasons": [REASON_TAGS[len(str(body.get("review_id"))) % len(REASON_TAGS)]],
                       "happened_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
    if isinstance(body, dict) and isinstance(body.get("reviews"), list):
        return body | {"reviews": [_bind(r) for r in body["reviews"]]}
    return body


@pytest.mark.parametrize("path,method,mode", CASES, ids=[f"{m} {p} {g.value}" for p, m, g in CASES])
def test_served_openapi_fuzz_never_fails_the_server(served, path, method, mode):
    op = served.schema[path][method]
    if path.startswith("/kiosk"):
        strategy = op.as_strategy(mode, path_parameters={"terminal_id": "KZ1"})
    else:
        strategy = op.as_strategy(mode)

    @settings(max_examples=EXAMPLES[mode], deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(case=strategy, bind=st.booleans(), sign=st.booleans())
    def run(case, bind, sign):
        body = NOT_SET if case.body is NOT_SET else (_bind(case.body) if bind else case.body)
        if body is NOT_SET:
            raw = b""
        elif isinstance(body, bytes | bytearray):  # negative mode: not even JSON
            raw = bytes(body)
        else:
            raw = json.dumps(body, ensure_ascii=False, default=str).encode()
        target = case.as_transport_kwargs(base_url=served.url)
        url = httpx.URL(target["url"], params=target.get("params") or None)
        target_path = url.raw_path.decode()
        headers = {"Content-Type": "application/json"}
        if sign and not path.startswith("/kiosk"):
            headers |= sign_headers(served.key, "FZ1", method, target_path, raw)
        else:
            headers |= {k: str(v) for k, v in (case.headers or {}).items() if k.lower().startswith("x-haocha")
                        and str(v).isascii()}
        resp = served.http.request(method, url, content=raw if method != "GET" else None, headers=headers)
        assert resp.status_code < 500, f"{method} {target_path} -> {resp.status_code} {resp.text}"
        if resp.status_code >= 400:
            err = resp.json()
            assert err["error"] in STATUS and isinstance(err["detail"], str), err
        if resp.status_code == 202:
            served.accepted += 1
        case.validate_response(resp, checks=CHECKS)

    run()


def test_the_fuzzer_got_reviews_accepted(served):
    # Positive cases bound to the terminal must have been accepted and produced at least sometimes,
    # or the fuzzing above only ever exercised refusals.
    assert served.accepted > 0
