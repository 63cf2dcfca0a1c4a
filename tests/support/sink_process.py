"""`haocha sink` (the ClickHouse writer) as a child process, for tests that run the roles apart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from apps.simulate.worker_process import stop_process
from haocha.settings import Settings


class SinkProcess:
    def __init__(self, settings: Settings, log_path: Path):
        self.settings, self.log_path = settings, log_path
        self.env = {**os.environ, **settings.as_env(), "PYTHONUNBUFFERED": "1"}
        self.proc: subprocess.Popen | None = None

    def start(self) -> "SinkProcess":
        Path(self.settings.data_dir).mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "apps.cli", "sink"], env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        return stop_process(self.proc, sig, timeout)

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
