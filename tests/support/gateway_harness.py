"""Running the gateway outside production: an in-memory one in a thread (unit tests, the client's
tests), the real `haocha gateway` process (integration tests, kiosk test, benchmark), and reading a
topic back. One module, so the benchmark uses the same code as the tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiohttp import web

from haocha.adapters.kafka import read_all
from haocha.domain.directory import Directory
from apps.gateway.app import create_app
from apps.gateway.crypto import KeySealer, new_terminal_key
from apps.gateway.idempotency import IdempotencyStore
from apps.gateway.pairing import PairingDigests, new_code
from apps.gateway.registry import ACTIVE, REVOKED, Registry, TerminalRecord
from apps.gateway.service import Gateway
from apps.gateway.publisher import MemoryPublisher
from haocha.settings import Settings

MEMORY_SECRET = "harness-secret"


def build_memory_gateway(data_dir: Path, **gs_overrides) -> tuple[Gateway, MemoryPublisher, Registry, KeySealer]:
    """A gateway with an in-memory publisher and registry (rate limit off unless asked)."""
    settings = Settings(data_dir=data_dir, secret_key=MEMORY_SECRET, **{"gateway_rate_per_second": 0, **gs_overrides})
    sealer = KeySealer(MEMORY_SECRET)
    registry = Registry(sealer)
    registry.ready.set()
    publisher = MemoryPublisher()
    store = IdempotencyStore(data_dir / f"idempotency-{uuid.uuid4().hex[:6]}.sqlite")
    gw = Gateway(settings, Directory.load(settings.directory_path), registry, publisher, store)
    return gw, publisher, registry, sealer


def terminal_record(sealer: KeySealer, terminal_id: str, hall: str, window: str, *, channel: str = "pad",
                    key: str | None = None) -> tuple[TerminalRecord, str]:
    key = key or new_terminal_key()
    rec = TerminalRecord(terminal_id, hall, window, channel, ACTIVE, sealer.seal(terminal_id, key),
                         datetime.now(UTC).isoformat())
    return rec, key


def with_pairing_code(rec: TerminalRecord, secret: str = MEMORY_SECRET, minutes: float = 10.0) -> tuple[TerminalRecord, str]:
    """The record as `haocha terminal pair` writes it, and the code it shows."""
    code = new_code()
    expires = datetime.now(UTC).timestamp() + minutes * 60
    return TerminalRecord(**{**rec.__dict__, "pairing_digest": PairingDigests(secret).code(rec.terminal_id, code),
                             "pairing_expires_at": datetime.fromtimestamp(expires, UTC).isoformat()}), code


def revoked(rec: TerminalRecord) -> TerminalRecord:
    return TerminalRecord(**{**rec.__dict__, "status": REVOKED, "sealed_key": None,
                             "revoked_at": datetime.now(UTC).isoformat()})


class ThreadedGateway:
    """The in-memory gateway on a real socket in a thread, for synchronous clients."""

    def __init__(self, data_dir: Path, **gs_overrides):
        self.gateway, self.publisher, self.registry, self.sealer = build_memory_gateway(data_dir, **gs_overrides)
        self.keys: dict[str, str] = {}
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="threaded-gateway")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        runner = web.AppRunner(create_app(self.gateway))
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def __enter__(self) -> "ThreadedGateway":
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("gateway thread did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self.gateway.store.close()

    def add_terminal(self, terminal_id: str, hall: str, window: str, channel: str = "pad") -> str:
        rec, key = terminal_record(self.sealer, terminal_id, hall, window, channel=channel)
        self._apply(terminal_id, rec.to_json())
        self.keys[terminal_id] = key
        return key

    def revoke(self, terminal_id: str) -> None:
        self._apply(terminal_id, revoked(self.registry.get(terminal_id).record).to_json())

    def _apply(self, terminal_id: str, raw: bytes) -> None:
        async def apply() -> None:  # on the gateway's own loop: no cross-thread mutation
            self.registry.apply(terminal_id, raw)

        asyncio.run_coroutine_threadsafe(apply(), self._loop).result(10)

    def produced_ids(self) -> list[str]:
        return [orjson.loads(v)["review_id"] for _, v in list(self.publisher.reviews)]


# --- the real thing ---------------------------------------------------------------------------------


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment that makes a child `haocha` process see these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAOCHA_")}
    env.update(settings.as_env())
    env.update(extra)
    return env


class GatewayProcess:
    """`haocha gateway` as a child process; waits until /healthz answers 200."""

    def __init__(self, settings: Settings, *, log_path: Path | None = None,
                 timeout: float = 60):
        self.settings = settings
        self.url = f"http://{settings.gateway_host}:{settings.gateway_port}"
        self.env = settings_env(settings)
        self.log_path = log_path or (Path(settings.data_dir) / "gateway.log")
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "GatewayProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "apps.cli", "gateway"], env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"gateway did not become healthy: {self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


async def read_topic(settings: Settings, name: str) -> list:
    """Every message of a topic (all partitions) up to its current end: what is really there."""
    return await read_all(settings, settings.topic(name))
