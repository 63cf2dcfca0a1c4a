"""The one settings object. Every setting has an environment name: HAOCHA_<FIELD>.

Declared here, at the bottom of the house, in sections (Kafka, worker, domain rules, HTTP API,
auth, gateway), so that no layer imports another to learn its configuration. Built once by the
composition root (`apps/bootstrap.py`, `load()`), passed down to whatever needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


PACKAGE_DATA = Path(__file__).parent / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAOCHA_", frozen=True, extra="ignore")

    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = "haocha"
    partitions: int = Field(4, ge=1, description="partitions of every keyed topic; tables follow them")
    replication: int = Field(1, ge=1)

    # Worker and its state
    app_id: str = "haocha"
    data_dir: Path = Path(".run/data")
    store: Literal["rocksdb://", "memory://"] = "rocksdb://"
    clickhouse_dsn: str = Field("", description="chdb://PATH (embedded, default) or http(s)://user:pw@host:port/db")
    clickhouse_database: str = "haocha"
    review_batch: int = Field(5000, ge=1, description="reviews per batch of the review hop (and ticket agent)")
    sink_batch: int = Field(20000, ge=1, description="rows per ClickHouse insert batch of the writer")
    sink_flush_seconds: float = Field(1.0, gt=0, description="how long a writer batch may gather rows")
    sink_in_worker: bool = Field(True, description="the worker runs the ClickHouse writer (and owns the store)")
    instance_id: str = Field("", description="static consumer-group membership: a restarted worker with the "
                                             "same id takes its partitions back at once")
    session_timeout_seconds: float = Field(10.0, ge=6, description="a silent member loses its partitions after this")

    # Domain rules (DOMAIN.md defaults)
    directory_path: Path = PACKAGE_DATA / "directory.json"
    calendar_overrides: Path = PACKAGE_DATA / "calendar_overrides.json"
    timezone: str = "Asia/Shanghai"
    repeat_window_seconds: float = 5.0
    contact_working_days: float = 1.0
    resolve_working_days: float = 5.0
    deadline_sweep_seconds: float = Field(60.0, ge=0, description="0 turns the periodic sweep off")

    # HTTP API (served by the worker)
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_url: str = Field("", description="where CLI commands reach the worker; default http://api_host:api_port")
    command_timeout_seconds: float = Field(15.0, gt=0, description="how long a caller waits for an outcome (504 after)")
    list_limit_max: int = Field(5000, ge=1)

    # Auth
    # Bootstraps an admin for the demo and for `haocha user add` on a fresh install; never written anywhere.
    admin_token: SecretStr | None = None
    # Default: <data_dir>/users.json. Shared by the worker and `haocha user`.
    users_file: Path | None = None
    secret_key: SecretStr = SecretStr("change-me-in-production")

    # Gateway (terminals)
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8081
    gateway_max_body_bytes: int = Field(1_048_576, ge=1024, description="larger request bodies get 413 body_too_large")
    gateway_max_batch: int = Field(500, ge=1, description="reviews per batch request")
    gateway_clock_skew_seconds: float = Field(300.0, gt=0, description="accepted |now - X-Haocha-Timestamp|")
    gateway_rate_per_second: float = Field(20.0, ge=0, description="requests per second per terminal; 0 = no limit")
    gateway_rate_burst: int = Field(40, ge=1, description="requests a terminal may send at once")
    gateway_refusal_rate_per_second: float = Field(
        5.0, ge=0, description="refused (unauthenticated) attempts per second per client address before 429")
    gateway_refusal_burst: int = Field(50, ge=1)
    gateway_produce_timeout_seconds: float = Field(15.0, gt=0, description="Kafka ack wait before 503 unavailable")
    gateway_idempotency_days: float = Field(35.0, gt=0, description="how long a review id's outcome is remembered")
    gateway_algorithms: str = Field("hmac-sha256,sm3-hmac", description="signature algorithms accepted")
    gateway_classified_tail: bool = Field(True, description="learn the stream's verdicts to report them back")
    gateway_trust_forwarded_for: bool = Field(False, description="take the client address from X-Forwarded-For")
    gateway_kiosk_thanks_seconds: float = Field(6.0, gt=0, description="thank-you screen; >= the repeat-press window")
    gateway_kiosk_idle_seconds: float = Field(60.0, gt=0, description="an unfinished kiosk review returns to start")
    gateway_kiosk_allow_from: str = Field(
        "", description="comma-separated networks (CIDR) whose browsers may use kiosk pages; empty = any")

    @property
    def kiosk_networks(self) -> tuple:
        import ipaddress

        return tuple(ipaddress.ip_network(n.strip(), strict=False)
                     for n in self.gateway_kiosk_allow_from.split(",") if n.strip())

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.gateway_algorithms.split(",") if a.strip())

    def users_path(self, data_dir: Path | None = None) -> Path:
        return self.users_file or (data_dir or self.data_dir) / "users.json"

    @property
    def dsn(self) -> str:
        return self.clickhouse_dsn or f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def worker_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def review_group(self) -> str:
        return f"{self.app_id}-reviews"

    @property
    def writer_group(self) -> str:
        return f"{self.app_id}-writer"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"

    def as_env(self) -> dict[str, str]:
        """These settings as HAOCHA_* variables, so a child `haocha` process sees exactly them."""
        return settings_as_env(self)


def settings_as_env(settings: BaseSettings) -> dict[str, str]:
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"HAOCHA_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def load() -> Settings:
    return Settings()
