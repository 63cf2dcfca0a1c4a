"""Integration fixtures: a real `haocha worker` subprocess against the real broker.

    def test_x(make_settings, start_worker):
        w = start_worker(make_settings())
        w.wait_ready()
        httpx.get(f"{w.url}/api/v1/tickets", headers=w.admin_headers)

The worker's stdout and stderr go to `w.log_path` (tests read them to check what is logged).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from pydantic import SecretStr

from haocha.auth.settings import AuthSettings
from haocha.auth.users import UserFile
from haocha.settings import Settings

pytestmark = pytest.mark.integration


def settings_env(settings: Settings) -> dict[str, str]:
    """Every setting as its HAOCHA_* variable, so the subprocess sees exactly these settings."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"HAOCHA_{name.upper()}"] = str(value)
    return env


class WorkerHandle:
    def __init__(self, settings: Settings, extra_env: dict[str, str] | None = None):
        self.settings = settings
        self.url = f"http://{settings.api_host}:{settings.api_port}"
        self.admin_token = (extra_env or {}).get("HAOCHA_ADMIN_TOKEN") or secrets.token_urlsafe(24)
        self.log_path = Path(settings.data_dir).parent / f"worker-{settings.app_id}.log"
        self.env = {**os.environ, **settings_env(settings), "HAOCHA_ADMIN_TOKEN": self.admin_token,
                    "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        self.proc: subprocess.Popen | None = None
        self.start()

    # -- process ----------------------------------------------------------------------------
    def start(self) -> "WorkerHandle":
        """(Re)start the worker process with the same settings (a restart keeps the data dir)."""
        assert self.proc is None or self.proc.poll() is not None, "worker already running"
        Path(self.settings.data_dir).mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "haocha.cli", "worker"], env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self

    def wait_ready(self, timeout: float = 120.0) -> "WorkerHandle":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.logs()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.3)
        raise TimeoutError(f"worker not ready within {timeout} s:\n{self.logs()[-4000:]}")

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait: the worker stops cleanly and frees its port."""
        return self._stop(signal.SIGTERM, timeout)

    def kill(self) -> int:
        """SIGKILL: a crash, nothing flushed."""
        return self._stop(signal.SIGKILL, 30.0)

    def _stop(self, sig: int, timeout: float) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise RuntimeError(f"worker ignored signal {sig} for {timeout} s:\n{self.logs()[-4000:]}")

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    # -- users ------------------------------------------------------------------------------
    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def add_user(self, user_id: str, role: str, department_id: str | None = None) -> dict[str, str]:
        """Create a user in the worker's users file; return their Authorization headers."""
        path = AuthSettings(_env_file=None).users_path(self.settings.data_dir)
        token = UserFile(path).add(user_id, role, department_id)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def start_worker():
    """Factory: start_worker(settings, extra_env=None) -> WorkerHandle (call .wait_ready()).
    Workers still running at the end of the test are killed."""
    handles: list[WorkerHandle] = []

    def factory(settings: Settings, extra_env: dict[str, str] | None = None) -> WorkerHandle:
        h = WorkerHandle(settings, extra_env)
        handles.append(h)
        return h

    yield factory
    for h in handles:
        if h.proc is not None and h.proc.poll() is None:
            try:
                h.terminate(30)
            except RuntimeError:
                pass
