"""A Kafka broker of a test's own (deploy/kafka.sh on a port pair and a data dir of its own), for
tests that SIGKILL the broker: the shared test broker is never touched."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from haocha.adapters.net import free_port

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "kafka.sh"


class OwnBroker:
    def __init__(self, name: str = "soak"):
        self.port, self.controller_port = free_port(), free_port()
        self.data_dir = REPO / ".run" / f"kafka-{name}-{uuid.uuid4().hex[:8]}"
        self.env = {**os.environ, "HAOCHA_KAFKA_PORT": str(self.port),
                    "HAOCHA_KAFKA_CONTROLLER_PORT": str(self.controller_port),
                    "HAOCHA_KAFKA_DATA": str(self.data_dir),
                    # a broker recovering from a SIGKILL on a busy machine may need more than 90 s
                    "HAOCHA_KAFKA_START_TIMEOUT": "300"}

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self, *args: str, timeout: float = 420.0) -> None:
        done = subprocess.run(["bash", str(SCRIPT), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"kafka.sh {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")

    def up(self) -> float:
        """Start (or restart after a kill, its data kept) and wait until it answers; the seconds it took."""
        t0 = time.monotonic()
        self._run("up")
        return time.monotonic() - t0

    def pid(self) -> int | None:
        try:
            return int((self.data_dir / "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL the broker's JVM (a crash: nothing flushed, no controlled shutdown)."""
        pid = self.pid()
        assert pid is not None, f"no broker pid in {self.data_dir}"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def down(self, wipe: bool = True) -> None:
        self._run("down", *(["--wipe"] if wipe else []), timeout=90)

    def log_tail(self, lines: int = 60) -> str:
        path = self.data_dir / "kafka.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
