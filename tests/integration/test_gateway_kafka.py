"""The gateway as its own process (`haocha gateway`) against the real broker: reviews really on the
topic, counted once; refusals with their codes; bad input in the dead-letter topic; terminals
registered and revoked through the CLI and the TERMINALS topic; the stream's verdicts reported."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from tests.support.gateway_harness import GatewayProcess, read_topic, settings_env
from apps.gateway.registry import register_terminal
from haocha.settings import Settings
from apps.terminal_client.signing import sign_headers
from haocha.adapters.kafka import ensure_topics
from schemas.topics import DEAD_LETTERS, REVIEWS_CLASSIFIED, REVIEWS_SUBMITTED

pytestmark = pytest.mark.integration

HALL, WINDOW, OTHER_WINDOW = "H-CY", "H-CY-W01", "H-CY-W02"


@pytest.fixture(scope="module")
def stack(kafka_bootstrap, tmp_path_factory):
    """One topic prefix, two terminals registered, one gateway process for the module."""
    from tests.conftest import free_port

    run = uuid.uuid4().hex[:8]
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=f"tg{run}", partitions=2,
                        data_dir=tmp_path_factory.mktemp("gw") / "data", gateway_port=free_port(),
                        secret_key=f"secret-{run}")
    asyncio.run(ensure_topics(settings))
    keys = {}
    for tid, window in (("P1", WINDOW), ("P2", OTHER_WINDOW)):
        _, keys[tid] = asyncio.run(register_terminal(settings, tid, HALL, window))
    with GatewayProcess(settings.model_copy(update=dict(gateway_rate_per_second=0))) as gp:
        gp.keys = keys
        gp.http = httpx.Client(base_url=gp.url, timeout=30)
        yield gp
        gp.http.close()


def _review(terminal="P1", window=WINDOW, **kw) -> dict:
    r = {"review_id": uuid.uuid4().hex, "channel": "pad", "hall_id": HALL, "window_id": window,
         "terminal_id": terminal, "rating": 4, "happened_at": datetime.now(UTC).isoformat()}
    return r | kw


def _post(stack, body: dict | bytes, terminal="P1", path="/v1/reviews", **kw) -> httpx.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return stack.http.post(path, content=raw, headers=sign_headers(stack.keys[terminal], terminal, "POST", path, raw, **kw))


def _topic(stack, spec) -> list:
    return asyncio.run(read_topic(stack.settings, spec.name))


def test_reviews_land_on_the_topic_once_with_both_times(stack):
    started_ms = int(time.time() * 1000)
    late = _review(happened_at=(datetime.now(UTC) - timedelta(days=9)).isoformat())  # an offline pad
    single = _review(case_no="BJ-2021-7")
    assert _post(stack, late).status_code == 202
    assert _post(stack, single).status_code == 202
    batch = [_review() for _ in range(5)]
    resp = _post(stack, {"reviews": batch + [single]}, path="/v1/reviews/batch")
    assert resp.status_code == 200 and resp.json()["accepted"] == 5 and resp.json()["resent"] == 1
    again = _post(stack, late)  # resend: the original answer, no second review
    assert again.status_code == 202 and again.json()["resend"] is True

    msgs = _topic(stack, REVIEWS_SUBMITTED)
    ids = Counter(orjson.loads(m.value)["review_id"] for m in msgs)
    wanted = [r["review_id"] for r in [late, single, *batch]]
    assert all(ids[i] == 1 for i in wanted), ids
    m = next(m for m in msgs if orjson.loads(m.value)["review_id"] == late["review_id"])
    value = orjson.loads(m.value)
    assert m.key == HALL.encode()
    assert value["happened_at"] == late["happened_at"] and value["received_at"]  # both times kept
    # Kafka's timestamp is the receive time, never the device's nine-day-old clock.
    assert m.timestamp >= started_ms


def test_refusals_each_with_its_code(stack):
    r = _review()
    raw = orjson.dumps(r)
    assert _post(stack, raw, timestamp=int(time.time()) - 3600).json()["error"] == "stale_timestamp"
    h = sign_headers(stack.keys["P1"], "P1", "POST", "/v1/reviews", raw)
    assert stack.http.post("/v1/reviews", content=raw, headers=h).status_code == 202
    assert stack.http.post("/v1/reviews", content=raw, headers=h).json()["error"] == "nonce_reused"
    assert stack.http.post("/v1/reviews", content=raw, headers={**h, "X-Haocha-Terminal": "P9"}).json()["error"] \
        == "unknown_terminal"
    assert _post(stack, raw, terminal="P2").json()["error"] == "terminal_mismatch"
    assert _post(stack, _review(window=OTHER_WINDOW)).json()["error"] == "window_mismatch"
    forged = dict(h, **{"X-Haocha-Nonce": "another-nonce-1", "X-Haocha-Signature": "0" * 64})
    assert stack.http.post("/v1/reviews", content=raw, headers=forged).json()["error"] == "bad_signature"
    assert _post(stack, {**r, "rating": 2, "reasons": ["效率低"]}).json()["error"] == "review_id_conflict"


def test_bad_input_is_refused_and_kept_in_the_dead_letter_topic(stack):
    marker = uuid.uuid4().hex
    cases = {
        b"not json " + marker.encode(): (400, "not_json"),
        orjson.dumps(_review(rating=9, comment=marker)): (422, "schema"),
        orjson.dumps(_review(comment=f"{marker}\x00")): (422, "schema"),
        orjson.dumps(_review(hall_id="H-XX", comment=marker)): (422, "unknown_hall"),
        orjson.dumps(_review(window_id="H-NH-W01", comment=marker)): (422, "unknown_window"),
        orjson.dumps(_review(happened_at="2031-01-01T00:00:00+08:00", comment=marker)): (422, "impossible_time"),
    }
    for body, (status, code) in cases.items():
        resp = _post(stack, body)
        assert (resp.status_code, resp.json()["error"]) == (status, code), resp.text
    big = b'{"comment": "' + marker.encode() + b"x" * 2_000_000 + b'"}'
    resp = _post(stack, big)
    assert (resp.status_code, resp.json()["error"]) == (413, "body_too_large")

    letters = [orjson.loads(m.value) for m in _topic(stack, DEAD_LETTERS)]
    mine = [d for d in letters if marker in d["raw"]]
    assert sorted(d["reason"] for d in mine) == sorted([c for _, c in cases.values()] + ["body_too_large"])
    assert all(d["source"].startswith("gateway:") for d in mine)
    assert not any(marker in orjson.loads(m.value).get("comment", "") or ""
                   for m in _topic(stack, REVIEWS_SUBMITTED))


def test_cli_register_list_revoke_reach_the_running_gateway(stack):
    env = settings_env(stack.settings)
    run = lambda *a: subprocess.run([sys.executable, "-m", "apps.cli", *a], env=env, capture_output=True,  # noqa: E731
                                    text=True, timeout=60)
    reg = run("terminal", "register", "P7", "--hall", HALL, "--window", "H-CY-W05")
    assert reg.returncode == 0, reg.stderr
    key = reg.stdout.strip().splitlines()[-1]
    assert key.startswith("hck_")
    assert run("terminal", "register", "P7", "--hall", HALL, "--window", "H-CY-W05").returncode == 1
    assert run("terminal", "register", "P8", "--hall", HALL, "--window", "H-NH-W01").returncode == 1
    stack.keys["P7"] = key
    r = _review("P7", "H-CY-W05")
    _eventually(lambda: _post(stack, r, terminal="P7").status_code == 202)

    listed = json.loads(run("terminal", "list", "--json").stdout)
    assert {t["terminal_id"] for t in listed} >= {"P1", "P2", "P7"}
    assert "hck_" not in json.dumps(listed) and "sealed_key" not in json.dumps(listed)

    assert run("terminal", "revoke", "P7").returncode == 0
    _eventually(lambda: _post(stack, _review("P7", "H-CY-W05"), terminal="P7").json().get("error") == "terminal_revoked")
    assert [t["status"] for t in json.loads(run("terminal", "list", "--json").stdout) if t["terminal_id"] == "P7"] \
        == ["revoked"]
    # Nothing on the TERMINALS topic is the key in plain text.
    from schemas.topics import TERMINALS

    assert not any(key.encode() in (m.value or b"") for m in _topic(stack, TERMINALS))


def test_the_streams_verdict_is_reported_back(stack):
    r = _review(case_no=f"C-{uuid.uuid4().hex[:6]}")
    assert _post(stack, r).status_code == 202

    async def classify() -> None:  # what the review stream publishes for it
        p = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap)
        await p.start()
        try:
            verdict = {"schema_version": 1, "review": {**r, "received_at": r["happened_at"]},
                       "classification": "duplicate_case", "counted": False, "department_id": "D-ZSJ",
                       "note": "case already rated", "classified_at": datetime.now(UTC).isoformat()}
            await p.send_and_wait(stack.settings.topic(REVIEWS_CLASSIFIED.name), orjson.dumps(verdict),
                                  key=r["review_id"].encode())
        finally:
            await p.stop()

    asyncio.run(classify())
    path = f"/v1/reviews/{r['review_id']}"

    def verdict():
        resp = stack.http.get(path, headers=sign_headers(stack.keys["P1"], "P1", "GET", path, b""))
        return (resp.json().get("classification") or {}).get("classification")

    _eventually(lambda: verdict() == "duplicate_case")
    assert _post(stack, r).json()["classification"]["classification"] == "duplicate_case"


def test_openapi_document_is_served_by_the_process(stack):
    doc = stack.http.get("/v1/openapi.json").json()
    assert doc["info"]["title"] == "Haocha terminal gateway"
    assert stack.http.get("/healthz").json()["ready"] is True


def _eventually(check, timeout: float = 20.0) -> None:
    """Wait for a condition that another process makes true (registry tail, classified tail)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.2)
