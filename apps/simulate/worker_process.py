"""Run `haocha worker` (or `haocha sink`, which serves the API when it owns the embedded store) as a
child process with given settings (demo, benchmarks, tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from haocha.settings import Settings


class WorkerProcess:
    def __init__(self, settings: Settings, log_path: Path, extra_env: dict[str, str] | None = None,
                 role: str = "worker"):
        self.settings, self.role = settings, role
        self.url = settings.worker_url
        self.log_path = log_path
        self.env = {**os.environ, **settings.as_env(), "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        Path(self.settings.data_dir).mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "apps.cli", self.role], env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 120.0) -> "WorkerProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.role} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.1)  # a start is ~3 s: a coarse poll would add a share of it
        raise TimeoutError(f"{self.role} not ready within {timeout:.0f}s; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        return stop_process(self.proc, sig, timeout)


def stop_process(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
    """Signal a child and wait for it; one that outlives `timeout` is killed. Its exit code."""
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else 0
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(10)
