"""The store-and-forward client killed (SIGKILL) mid-drain and restarted: nothing lost, nothing
doubled, order kept. Real gateway process, real broker, the client as its own process."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tests.support.gateway_harness import GatewayProcess, read_topic
from apps.gateway.registry import register_terminal
from apps.terminal_client import Queue, new_review
from schemas.topics import REVIEWS_SUBMITTED

pytestmark = pytest.mark.integration

N = 120


def _counts(path) -> tuple[int, int]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return (db.execute("SELECT count(*) FROM outbox").fetchone()[0],
                db.execute("SELECT count(*) FROM sent").fetchone()[0])
    finally:
        db.close()


def test_client_killed_mid_drain_loses_and_doubles_nothing(make_settings, tmp_path):
    settings = make_settings(secret_key="kill-test-secret")
    _, key = asyncio.run(register_terminal(settings, "PK", "H-NH", "H-NH-W01"))
    key_file = tmp_path / "pk.key"
    key_file.write_text(key)
    queue_path = tmp_path / "pad" / "queue.sqlite"

    # A pad that was offline for a day: N reviews waiting in its queue.
    q = Queue(queue_path)
    t0 = datetime.now(UTC) - timedelta(days=1)
    queued = [new_review("PK", "H-NH", "H-NH-W01", rating=1 + i % 5, case_no=f"K-{uuid.uuid4().hex[:8]}",
                         reasons=["效率低"] if i % 5 < 2 else (), happened_at=t0 + timedelta(minutes=i))
              for i in range(N)]
    for r in queued:
        q.enqueue(r)
    q.close()

    with GatewayProcess(settings.model_copy(update=dict(gateway_rate_per_second=0))) as gp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HAOCHA_")}
        cmd = [sys.executable, "-m", "apps.terminal_client", "drain", "--gateway", gp.url,
               "--terminal-id", "PK", "--key-file", str(key_file), "--queue", str(queue_path), "--batch-size", "4"]
        # First run: gentle pace, killed with SIGKILL once it is well into the queue.
        child = subprocess.Popen(cmd + ["--pause", "0.05"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while _counts(queue_path)[1] < 20:
            assert child.poll() is None, child.stdout.read().decode()
            assert time.monotonic() < deadline, "drain made no progress"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        pending, sent = _counts(queue_path)
        assert pending > 0 and sent < N  # really killed mid-drain

        # Restart: drains the rest; what the killed run had sent but not marked is answered as a resend.
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert _counts(queue_path) == (0, N)

    msgs = asyncio.run(read_topic(settings, REVIEWS_SUBMITTED.name))
    ids = [orjson.loads(m.value)["review_id"] for m in msgs]
    counts = Counter(ids)
    assert all(counts[r["review_id"]] == 1 for r in queued)  # nothing lost, nothing doubled
    assert len(ids) == N
    assert ids == [r["review_id"] for r in queued]  # one hall, one partition: queue order kept
