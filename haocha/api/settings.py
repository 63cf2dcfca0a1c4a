"""The HTTP API's settings (HAOCHA_COMMAND_TIMEOUT_SECONDS, ...); part of haocha.settings.Settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAOCHA_", frozen=True, extra="ignore")

    command_timeout_seconds: float = Field(15.0, gt=0, description="how long a caller waits for an outcome (504 after)")
    list_limit_max: int = Field(5000, ge=1)
