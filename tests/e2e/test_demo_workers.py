"""`haocha demo --workers 2`: a short month through 2 workers and 1 writer that serves the API and
console gives the same report as through one worker for the same seed, and its progress says how
the work was shared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from haocha.adapters.net import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]
REVIEWS = 1500


def demo(kafka: str, workdir: Path, workers: int) -> tuple[dict, str]:
    """(the report's JSON, the demo's stderr) of a run in `workdir` (its .run/ and out/)."""
    workdir.mkdir()
    env = {**os.environ, "HAOCHA_KAFKA_BOOTSTRAP": kafka, "HAOCHA_API_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-m", "apps.cli", "demo", "--workers", str(workers),
                           "--reviews", str(REVIEWS), "--seed", "11", "--out", str(workdir / "out")],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((workdir / "out" / "haocha-report-2021-05.json").read_text()), done.stderr


def test_two_workers_and_a_writer_give_the_month_one_worker_gives(kafka_bootstrap, tmp_path):
    one, _ = demo(kafka_bootstrap, tmp_path / "one", 1)
    two, progress = demo(kafka_bootstrap, tmp_path / "two", 2)
    assert "2 workers" in progress and "1 writer serving the API and console" in progress
    shares = [ln for ln in progress.splitlines() if ln.startswith("[demo] worker ")]
    assert len(shares) == 2 and all("review partitions [" in ln for ln in shares), progress[-3000:]
    assert one["totals"]["reviews"] > REVIEWS * 0.9 and one["totals"]["closed"] > 0
    for section in ("totals", "departments", "windows", "open_tickets", "carry_over", "notes"):
        assert two[section] == one[section], section
