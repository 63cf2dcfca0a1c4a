"""Shared fixtures. Integration tests use the real broker started by deploy/kafka.sh and a fresh
topic prefix and data directory each, so tests never see each other's messages or stores."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("TZ", "UTC")

from haocha.settings import Settings  # noqa: E402

KAFKA = os.environ.get("HAOCHA_TEST_KAFKA", "127.0.0.1:9092")


def _reachable(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    if not _reachable(KAFKA):
        if os.environ.get("HAOCHA_REQUIRE_KAFKA") == "1":
            pytest.fail(f"no Kafka broker at {KAFKA}: `make test` starts one with deploy/kafka.sh")
        pytest.skip(f"no Kafka broker at {KAFKA} (start one with `make kafka-up`)")
    return KAFKA


@pytest.fixture
def make_settings(tmp_path: Path, kafka_bootstrap: str):
    """Factory: settings with a unique topic prefix, data dir and ports, topics created."""

    def factory(**overrides) -> Settings:
        from streams.topics import ensure_topics

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
        return s

    return factory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
