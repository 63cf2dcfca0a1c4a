"""The one settings object. Every setting has an environment name: HAOCHA_<FIELD>.

The HTTP API's, the auth's and the gateway's settings are declared next to the code they tune
(haocha/api/settings.py, haocha/auth/settings.py, haocha/gateway/settings.py) and are all part
of `Settings` through inheritance, so `Settings()` is the whole configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from haocha.api.settings import ApiSettings
from haocha.auth.settings import AuthSettings
from haocha.gateway.settings import GatewaySettings

PACKAGE_DATA = Path(__file__).parent / "data"


class Settings(ApiSettings, AuthSettings, GatewaySettings):
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
    review_batch: int = Field(2000, ge=1, description="reviews taken per step by the review agents")
    sink_batch: int = Field(5000, ge=1, description="rows per ClickHouse insert")
    sink_flush_seconds: float = Field(1.0, gt=0)

    # Domain rules (DOMAIN.md defaults)
    directory_path: Path = PACKAGE_DATA / "directory.json"
    calendar_overrides: Path = PACKAGE_DATA / "calendar_overrides.json"
    timezone: str = "Asia/Shanghai"
    repeat_window_seconds: float = 5.0
    contact_working_days: float = 1.0
    resolve_working_days: float = 5.0
    deadline_sweep_seconds: float = Field(60.0, ge=0, description="0 turns the periodic sweep off")

    # HTTP
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_url: str = Field("", description="where CLI commands reach the worker; default http://api_host:api_port")
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8081
    secret_key: SecretStr = SecretStr("change-me-in-production")

    @property
    def dsn(self) -> str:
        return self.clickhouse_dsn or f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def worker_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"

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
