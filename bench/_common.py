"""What the benchmarks share: progress lines and the broker (used if one answers, else started
with deploy/kafka.sh and stopped again)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The bench-only dependencies (pyproject's `bench` extra: quixstreams, py-spy) live in a venv of
# their own, made by `make bench`: quixstreams pins pydantic below the project's.
BENCH_VENV = REPO / ".run" / "bench" / "venv"
sys.path.insert(0, str(REPO))

from haocha.adapters.net import free_port, reachable  # noqa: E402,F401  (re-exported for the benches)


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class Broker:
    """The broker to use; started (and stopped again) only if none answers."""

    def __init__(self):
        port = os.environ.get("HAOCHA_KAFKA_PORT", "9092")
        self.bootstrap = os.environ.get("HAOCHA_KAFKA_BOOTSTRAP", f"127.0.0.1:{port}")
        self.env = dict(os.environ)
        self.started = False
        self.wipe = False

    def __enter__(self) -> "Broker":
        if reachable(self.bootstrap):
            log(f"using the broker at {self.bootstrap}")
            return self
        if "HAOCHA_KAFKA_BOOTSTRAP" in os.environ and "HAOCHA_KAFKA_PORT" not in os.environ:
            raise SystemExit(f"no broker answers at HAOCHA_KAFKA_BOOTSTRAP={self.bootstrap}")
        if "HAOCHA_KAFKA_DATA" not in self.env:  # our own throwaway broker
            self.env["HAOCHA_KAFKA_DATA"] = tempfile.mkdtemp(prefix="haocha-bench-kafka-")
            self.wipe = True
        log(f"no broker at {self.bootstrap}: starting one (deploy/kafka.sh up, data {self.env['HAOCHA_KAFKA_DATA']})")
        subprocess.run(["bash", str(REPO / "deploy/kafka.sh"), "up"], env=self.env, check=True)
        self.started = True
        return self

    def __exit__(self, *exc) -> None:
        if self.started:
            log("stopping the broker this bench started")
            subprocess.run(["bash", str(REPO / "deploy/kafka.sh"), "down", *(["--wipe"] if self.wipe else [])],
                           env=self.env, check=False)


async def drop_run_topics(settings) -> int:
    """Delete the topics a run made (haocha.adapters.kafka.delete_topics_of)."""
    from haocha.adapters import kafka

    try:
        return await kafka.delete_topics_of(settings)
    except Exception as exc:  # a bench's figures stand without the cleanup
        log(f"could not delete the run's topics ({exc!r})")
        return 0
