"""Auth settings (HAOCHA_ADMIN_TOKEN, HAOCHA_USERS_FILE); part of haocha.settings.Settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAOCHA_", frozen=True, extra="ignore")

    # Bootstraps an admin for the demo and for `haocha user add` on a fresh install; never written anywhere.
    admin_token: SecretStr | None = None
    # Default: <data_dir>/users.json. Shared by the worker and `haocha user`.
    users_file: Path | None = None

    def users_path(self, data_dir: Path) -> Path:
        return self.users_file or data_dir / "users.json"
