"""Settings from the environment, the per-install config file and defaults (get_settings())."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from app.fileio import write_private_json

APP_NAME = "TaskChat"
DEFAULT_GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"
# Google keeps this alias pointing at the current Flash model, so a new install never
# starts on a retired model name.
DEFAULT_GEMINI_MODEL = "gemini-flash-latest"
CONFIG_FILE_NAME = "config.json"
# Only these keys may be written to config.json by the app (never secrets).
USER_EDITABLE_KEYS = ("gemini_model", "timezone", "daily_message_cap")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_data_dir() -> Path:
    raw = os.environ.get("TASKCHAT_DATA_DIR")
    return Path(raw).expanduser() if raw else default_data_dir()


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Reads the user-editable keys of `<data dir>/config.json`, below the environment."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = resolve_data_dir() / CONFIG_FILE_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if k in USER_EDITABLE_KEYS}


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Everything configurable. Environment wins over config.json, which wins over defaults."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    data_dir: Path = Field(
        default_factory=resolve_data_dir, validation_alias=_env("TASKCHAT_DATA_DIR")
    )
    database_url: str | None = Field(None, validation_alias=_env("TASKCHAT_DATABASE_URL"))
    sync_url: SecretStr | None = Field(None, validation_alias=_env("TASKCHAT_SYNC_URL"))
    gemini_api_key: SecretStr | None = Field(None, validation_alias=_env("GEMINI_API_KEY"))
    gemini_base_url: str = Field(DEFAULT_GEMINI_BASE_URL, validation_alias=_env("GEMINI_BASE_URL"))
    gemini_model: str = Field(
        DEFAULT_GEMINI_MODEL, validation_alias=_env("GEMINI_MODEL", "gemini_model")
    )
    # IANA zone the assistant resolves "tomorrow" in; empty means the OS zone.
    timezone: str = Field("", validation_alias=_env("TASKCHAT_TIMEZONE", "timezone"))
    # Seconds a whole chat turn may take before it is stopped.
    turn_timeout: float = Field(120.0, validation_alias=_env("TASKCHAT_TURN_TIMEOUT"))
    # Seconds the Gemini client waits for one response before retrying or giving up.
    request_timeout: float = Field(60.0, validation_alias=_env("TASKCHAT_REQUEST_TIMEOUT"))
    max_retries: int = Field(2, validation_alias=_env("TASKCHAT_MAX_RETRIES"))
    # Seconds an idle connection to Gemini is kept for the next turn (app/chat/gemini.py).
    gemini_keepalive: float = Field(120.0, gt=0, validation_alias=_env("TASKCHAT_GEMINI_KEEPALIVE"))
    max_body_bytes: int = Field(1024 * 1024, validation_alias=_env("TASKCHAT_MAX_BODY_BYTES"))
    daily_message_cap: int = Field(
        200, validation_alias=_env("TASKCHAT_DAILY_MESSAGE_CAP", "daily_message_cap")
    )
    chat_per_minute: int = Field(30, validation_alias=_env("TASKCHAT_CHAT_PER_MINUTE"))
    session_minutes: int = Field(60 * 12, validation_alias=_env("TASKCHAT_SESSION_MINUTES"))
    webui_dir: Path | None = Field(None, validation_alias=_env("TASKCHAT_WEBUI_DIR"))
    log_level: str = Field("INFO", validation_alias=_env("TASKCHAT_LOG_LEVEL"))
    # The reminder scheduler and its desktop notifications (app/reminders); off: none.
    reminders: bool = Field(True, validation_alias=_env("TASKCHAT_REMINDERS"))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSource(settings_cls))

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "taskchat.db"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.sqlite_path}"

    def ensure_data_dir(self) -> Path:
        """Create the data folder (and logs) readable by this user only."""
        for path in (self.data_dir, self.log_dir):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            if os.name == "posix":
                os.chmod(path, 0o700)
        return self.data_dir


@lru_cache
def get_settings() -> Settings:
    return Settings()


def write_user_config(settings: Settings, **changes: Any) -> None:
    """Persist user-editable settings to config.json (atomically, 0600)."""
    unknown = set(changes) - set(USER_EDITABLE_KEYS)
    if unknown:
        raise ValueError(f"not user-editable: {sorted(unknown)}")
    settings.ensure_data_dir()
    path = settings.data_dir / CONFIG_FILE_NAME
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(current, dict):
            current = {}
    except (OSError, ValueError):
        current = {}
    current.update(changes)
    write_private_json(path, current, indent=2)
