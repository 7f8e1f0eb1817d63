"""Settings API: model, timezone and limits; the Gemini key (write-only, shown as last 4).

The key is never returned, logged or written to the database: PUT hands it to the OS
keyring (app.security.keystore), GET only reports whether one is set, where it comes
from and its last four characters.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from app.api.deps import SettingsDep
from app.config import Settings, write_user_config
from app.security import keycheck, keystore

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/settings", tags=["settings"])

_MODEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/:]{0,99}$")


class KeyringOut(BaseModel):
    available: bool
    backend: str
    message: str


class GeminiKeyOut(BaseModel):
    set: bool
    last4: str | None
    source: Literal["env", "keyring", "file"] | None


class KeyCheckOut(BaseModel):
    status: Literal["valid", "rejected", "offline", "missing", "error"]
    message: str


class SettingsOut(BaseModel):
    gemini_key: GeminiKeyOut
    keyring: KeyringOut
    model: str
    timezone: str
    data_dir: str
    daily_message_cap: int


class KeySavedOut(SettingsOut):
    # The check the save asked for (check=true): always "valid" then; null without one.
    key_check: KeyCheckOut | None = None


class SettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    timezone: str | None = None
    daily_message_cap: int | None = Field(None, ge=1, le=100_000)

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not _MODEL_RE.match(value):
            raise ValueError("not a valid model name (for example gemini-flash-latest)")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    "unknown time zone; use an IANA name such as Europe/Berlin"
                ) from None
        return value


class GeminiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    api_key: SecretStr
    allow_plaintext_file: bool = False
    # Ask Gemini first: a rejected key is refused, and when Gemini cannot be reached the
    # key is not saved either (the answer says so; save again with check=false).
    check: bool = False


def settings_view(settings: Settings) -> SettingsOut:
    info, keyring_status = keystore.gemini_key_info(settings)
    return SettingsOut(
        gemini_key=GeminiKeyOut(**info.as_dict()),
        keyring=KeyringOut(**keyring_status.as_dict()),
        model=settings.gemini_model,
        timezone=settings.timezone,
        data_dir=str(settings.data_dir),
        daily_message_cap=settings.daily_message_cap,
    )


@router.get("", response_model=SettingsOut)
def get_settings_view(settings: SettingsDep) -> SettingsOut:
    return settings_view(settings)


@router.put("", response_model=SettingsOut)
def update_settings(settings: SettingsDep, data: SettingsUpdate) -> SettingsOut:
    changes: dict[str, Any] = {}
    if data.model is not None:
        changes["gemini_model"] = data.model
    if data.timezone is not None:
        changes["timezone"] = data.timezone
    if data.daily_message_cap is not None:
        changes["daily_message_cap"] = data.daily_message_cap
    if changes:
        write_user_config(settings, **changes)
        # The running app shares this Settings object: update it in place.
        for name, value in changes.items():
            setattr(settings, name, value)
        log.info("settings updated: %s", ", ".join(sorted(changes)))
    return settings_view(settings)


@router.put("/gemini-key", response_model=KeySavedOut)
def put_gemini_key(settings: SettingsDep, data: GeminiKeyIn) -> KeySavedOut:
    key = keystore.validate_key(data.api_key.get_secret_value())
    checked: KeyCheckOut | None = None
    if data.check:
        # Where it would go is known before Gemini is asked: no check for a key that
        # cannot be stored anyway.
        keystore.ensure_storable(allow_plaintext_file=data.allow_plaintext_file)
        checked = check_key(settings, key)
        if checked.status == "rejected":
            raise keycheck.KeyRejected(checked.message, field="api_key")
        if checked.status != "valid":
            raise keycheck.KeyNotChecked(checked.message, field="api_key")
    keystore.store_gemini_key(settings, key, allow_plaintext_file=data.allow_plaintext_file)
    return KeySavedOut(**settings_view(settings).model_dump(), key_check=checked)


@router.delete("/gemini-key", response_model=SettingsOut)
def delete_gemini_key(settings: SettingsDep) -> SettingsOut:
    keystore.clear_gemini_key(settings)
    return settings_view(settings)


class KeyCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    api_key: SecretStr | None = None


@router.post("/gemini-key/check", response_model=KeyCheckOut)
def check_gemini_key(
    settings: SettingsDep,
    data: Annotated[KeyCheckIn | None, Body()] = None,
) -> KeyCheckOut:
    """Asks Gemini's `models` endpoint whether the key (stored, or given) is accepted."""
    if data is not None and data.api_key is not None:
        key: str | None = keystore.validate_key(data.api_key.get_secret_value())
    else:
        key = keystore.load_gemini_key(settings, fresh=True)
    if not key:
        return KeyCheckOut(status="missing", message="No Gemini API key is set.")
    return check_key(settings, key)


def check_key(settings: Settings, key: str) -> KeyCheckOut:
    return KeyCheckOut(**keycheck.check_gemini_key(settings, key).as_dict())
