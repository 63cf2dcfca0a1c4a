"""Throughput of the terminal gateway: signed posts through `haocha gateway` to Kafka (acks=all).

    .venv/bin/python bench/bench_gateway.py [--seconds 10] [--concurrency 32] [--batch-size 100]

1. Uses the broker at HAOCHA_KAFKA_BOOTSTRAP (default 127.0.0.1:$HAOCHA_KAFKA_PORT, 9092); if none
   answers, starts a throwaway one with `deploy/kafka.sh up` and stops it at the end.
2. Fresh topic prefix; registers --terminals pads (one window each); starts `haocha gateway` as its
   own process (rate limit off, as for a trusted load test).
3. Phase "single": --concurrency connections post one signed review per request for --seconds.
   Phase "batch": --batch-concurrency connections post signed batches of --batch-size.
   Every review counted was answered 202/accepted, i.e. acknowledged by Kafka (acks=all).
4. Reads the review topic back and checks it holds exactly the accepted reviews, once each.
Prints reviews/s for both phases and the ratio batch/single. The load generator runs on the same
machine (2 cores here): the figures are for gateway + client + broker sharing it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Broker, free_port, log  # noqa: E402

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from haocha.domain.directory import Directory  # noqa: E402
from tests.support.gateway_harness import GatewayProcess, read_topic  # noqa: E402
from apps.gateway.registry import register_terminal  # noqa: E402
from haocha.settings import Settings  # noqa: E402
from apps.terminal_client.signing import sign_headers  # noqa: E402
from haocha.adapters.kafka import ensure_topics  # noqa: E402
from schemas.review import BAD_RATINGS, REASON_TAGS  # noqa: E402
from schemas.topics import REVIEWS_SUBMITTED  # noqa: E402


class Load:
    def __init__(self, url: str, pads: list[tuple[str, str, str, str]]):
        self.url = url
        self.pads = pads  # (terminal, key, hall, window)
        self.accepted: list[str] = []
        self.refused: Counter[str] = Counter()
        self.requests = 0

    def review(self, pad, i: int) -> dict:
        tid, _, hall, window = pad
        # Distinct case numbers and spaced device times: the stream would count every one. A bad
        # rating names a reason from the list, as the door requires (else 422 reason_required).
        rating = 1 + i % 5
        return {"review_id": uuid.uuid4().hex, "case_no": f"B-{uuid.uuid4().hex[:12]}", "channel": "pad",
                "hall_id": hall, "window_id": window, "terminal_id": tid, "rating": rating,
                "reasons": [REASON_TAGS[i % len(REASON_TAGS)]] if rating in BAD_RATINGS else [],
                "happened_at": (datetime.now(UTC) - timedelta(minutes=i % 600)).isoformat()}

    async def worker(self, session: aiohttp.ClientSession, pad, stop_at: float, batch: int) -> None:
        path = "/v1/reviews" if batch == 0 else "/v1/reviews/batch"
        i = 0
        while time.perf_counter() < stop_at:
            if batch == 0:
                reviews = [self.review(pad, i)]
                body = orjson.dumps(reviews[0])
            else:
                reviews = [self.review(pad, i + k) for k in range(batch)]
                body = orjson.dumps({"reviews": reviews})
            i += len(reviews)
            headers = sign_headers(pad[1], pad[0], "POST", path, body)
            headers["Content-Type"] = "application/json"
            async with session.post(self.url + path, data=body, headers=headers) as resp:
                answer = await resp.json()
            self.requests += 1
            if batch == 0:
                if resp.status == 202:
                    self.accepted.append(answer["review_id"])
                else:
                    self.refused[answer.get("error", str(resp.status))] += 1
            else:
                for r in answer.get("results", []):
                    if r["status"] == "accepted":
                        self.accepted.append(r["review_id"])
                    else:
                        self.refused[r.get("error", r["status"])] += 1
                if resp.status != 200:
                    self.refused[answer.get("error", str(resp.status))] += len(reviews)

    async def run(self, seconds: float, concurrency: int, batch: int) -> tuple[float, int, int]:
        conn = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=60)) as session:
            before, reqs_before = len(self.accepted), self.requests
            t0 = time.perf_counter()
            stop_at = t0 + seconds
            await asyncio.gather(*(self.worker(session, self.pads[n % len(self.pads)], stop_at, batch)
                                   for n in range(concurrency)))
            elapsed = time.perf_counter() - t0
        return elapsed, len(self.accepted) - before, self.requests - reqs_before


async def warm_up(load: Load) -> None:
    await load.run(1.0, 4, 0)
    await load.run(1.0, 2, 10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="per phase")
    ap.add_argument("--concurrency", type=int, default=32, help="connections posting single reviews")
    ap.add_argument("--batch-concurrency", type=int, default=4, help="connections posting batches")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--terminals", type=int, default=8)
    args = ap.parse_args()

    with Broker() as broker, tempfile.TemporaryDirectory(prefix="haocha-bench-gw-") as tmp:
        run = uuid.uuid4().hex[:8]
        settings = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=f"bgw{run}", data_dir=Path(tmp) / "data",
                            gateway_port=free_port(), secret_key=f"bench-{run}")
        asyncio.run(ensure_topics(settings))
        windows = list(Directory.load(settings.directory_path).windows.values())
        pads = []
        for n in range(args.terminals):
            w = windows[n % len(windows)]
            _, key = asyncio.run(register_terminal(settings, f"BENCH-{n}", w.hall_id, w.window_id))
            pads.append((f"BENCH-{n}", key, w.hall_id, w.window_id))
        gw_settings = settings.model_copy(update=dict(gateway_rate_per_second=0, gateway_classified_tail=False,
                                                      gateway_max_batch=max(500, args.batch_size)))
        with GatewayProcess(gw_settings) as gp:
            log(f"gateway {gp.url}, {len(pads)} terminals, broker {broker.bootstrap}")
            load = Load(gp.url, pads)
            asyncio.run(warm_up(load))
            s_el, s_n, s_req = asyncio.run(load.run(args.seconds, args.concurrency, 0))
            log(f"single: {s_n} reviews in {s_el:.1f} s")
            b_el, b_n, b_req = asyncio.run(load.run(args.seconds, args.batch_concurrency, args.batch_size))
            log(f"batch: {b_n} reviews in {b_req} requests in {b_el:.1f} s")

        msgs = asyncio.run(read_topic(settings, REVIEWS_SUBMITTED.name))
        on_topic = Counter(orjson.loads(m.value)["review_id"] for m in msgs)
        accepted = Counter(load.accepted)
        exact = on_topic == accepted
        single_rate, batch_rate = s_n / s_el, b_n / b_el
        print("gateway benchmark (signed HMAC-SHA256, produced to Kafka with acks=all before each answer)")
        print(f"  single posts : {single_rate:9.0f} reviews/s  ({s_req / s_el:.0f} req/s, {args.concurrency} connections)")
        print(f"  batch posts  : {batch_rate:9.0f} reviews/s  ({b_req / b_el:.1f} req/s of {args.batch_size}, "
              f"{args.batch_concurrency} connections)")
        print(f"  batch/single : {batch_rate / single_rate:9.1f} x")
        print(f"  topic check  : {sum(on_topic.values())} messages, {len(accepted)} accepted, "
              f"{'each exactly once' if exact else 'MISMATCH'}; refused {dict(load.refused) or 0}")
        return 0 if exact and not load.refused else 1


if __name__ == "__main__":
    sys.exit(main())
