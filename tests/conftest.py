"""Shared fixtures. Integration tests use the real broker started by deploy/kafka.sh and a fresh
topic prefix and data directory each, so tests never see each other's messages or stores."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import threading
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("TZ", "UTC")

from haocha.adapters.net import free_port, reachable  # noqa: E402,F401
from haocha.settings import Settings  # noqa: E402
from apps.simulate.worker_process import WorkerProcess  # noqa: E402

KAFKA = os.environ.get("HAOCHA_TEST_KAFKA", "127.0.0.1:9092")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    if not reachable(KAFKA):
        if os.environ.get("HAOCHA_REQUIRE_KAFKA") == "1":
            pytest.fail(f"no Kafka broker at {KAFKA}: `make test` starts one with deploy/kafka.sh")
        pytest.skip(f"no Kafka broker at {KAFKA} (start one with `make kafka-up`)")
    return KAFKA


# The settings of tests that are over: their topics are deleted by a later test's first
# make_settings, on a thread, once the processes that used them (stopped by the fixtures' teardowns,
# which run before) are gone. A broker that kept the suite's topics (~15 per settings, some 300
# settings) got slower for every later test: each make_settings and worker start paid for them.
_finished: list[Settings] = []
_cleaners: list[threading.Thread] = []


def _delete_finished_topics() -> None:
    from haocha.adapters.kafka import delete_topics_of

    done, _finished[:] = list(_finished), []
    if not done:
        return

    def clean() -> None:
        for s in done:
            try:
                asyncio.run(delete_topics_of(s))
            except Exception:  # a cleanup that fails costs speed, not correctness
                pass

    th = threading.Thread(target=clean, name="delete-test-topics", daemon=True)
    th.start()
    _cleaners[:] = [t for t in _cleaners if t.is_alive()] + [th]


@pytest.fixture(scope="session", autouse=True)
def _topics_deleted_at_the_end():
    yield
    _delete_finished_topics()
    for th in _cleaners:
        th.join(timeout=60)


@pytest.fixture
def make_settings(tmp_path: Path, kafka_bootstrap: str):
    """Factory: settings with a unique topic prefix, data dir and ports, topics created (and
    deleted after the test)."""
    made: list[Settings] = []
    _delete_finished_topics()

    def factory(**overrides) -> Settings:
        from haocha.adapters.kafka import ensure_topics

        run = uuid.uuid4().hex[:8]
        values = dict(
            kafka_bootstrap=kafka_bootstrap,
            topic_prefix=f"t{run}",
            app_id=f"haocha-t{run}",
            data_dir=tmp_path / f"data-{run}",
            partitions=2,
            api_port=free_port(),
            gateway_port=free_port(),
            deadline_sweep_seconds=0,
        )
        values.update(overrides)
        s = Settings(**values)
        asyncio.run(ensure_topics(s))
        made.append(s)
        return s

    yield factory
    _finished.extend(made)


# -- a real `haocha worker` subprocess (integration and e2e tests) ------------------------------


class WorkerHandle(WorkerProcess):
    """A worker child process plus what tests need around it: an admin token, users, its log.

        def test_x(make_settings, start_worker):
            w = start_worker(make_settings()).wait_ready()
            httpx.get(f"{w.url}/api/v1/tickets", headers=w.admin_headers)
    """

    def __init__(self, settings: Settings, extra_env: dict[str, str] | None = None):
        self.admin_token = (extra_env or {}).get("HAOCHA_ADMIN_TOKEN") or secrets.token_urlsafe(24)
        super().__init__(settings, Path(settings.data_dir).parent / f"worker-{settings.app_id}.log",
                         extra_env={"HAOCHA_ADMIN_TOKEN": self.admin_token, **(extra_env or {})})
        self.start()

    def start(self) -> "WorkerHandle":
        """(Re)start with the same settings; a restart keeps the data dir."""
        assert self.proc is None or self.proc.poll() is not None, "worker already running"
        return super().start()

    def wait_ready(self, timeout: float = 120.0) -> "WorkerHandle":
        try:
            return super().wait_ready(timeout)
        except (RuntimeError, TimeoutError) as exc:
            raise type(exc)(f"{exc}\n{self.logs()[-4000:]}") from None

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait: the worker stops cleanly and frees its port."""
        return self.stop(signal.SIGTERM, timeout)

    def kill(self) -> int:
        """SIGKILL: a crash, nothing flushed."""
        return self.stop(signal.SIGKILL, 30.0)

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def add_user(self, user_id: str, role: str, department_id: str | None = None) -> dict[str, str]:
        """Create a user in the worker's users file; return their Authorization headers."""
        from haocha.auth.users import UserFile

        path = self.settings.users_path(self.settings.data_dir)
        token = UserFile(path).add(user_id, role, department_id)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def start_worker():
    """Factory: start_worker(settings, extra_env=None) -> WorkerHandle (call .wait_ready()).
    Workers still running at the end of the test are stopped."""
    handles: list[WorkerHandle] = []

    def factory(settings: Settings, extra_env: dict[str, str] | None = None) -> WorkerHandle:
        h = WorkerHandle(settings, extra_env)
        handles.append(h)
        return h

    yield factory
    for h in handles:
        h.stop(signal.SIGTERM, 30)
