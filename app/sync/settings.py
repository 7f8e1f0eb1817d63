"""Where the sync URL comes from: TASKCHAT_SYNC_URL, else the OS keyring (it holds a
password, so it is never written to config.json).

Whether the keyring holds one is remembered in sync.json (a yes/no, nothing secret): every
start asks for the URL, and without it each start would ask the Secret Service over D-Bus
(~60 ms before the server answers), although most installs never set one.
"""

from __future__ import annotations

import json
from typing import Literal
from urllib.parse import urlsplit

from app.config import Settings
from app.db.postgres import is_postgres_url
from app.errors import InvalidInput
from app.profile import PROFILE_FILE, SYNC_STATE_FILE, local_user_id, remember_url_in_keyring
from app.security.keyrings import SERVICE, choose_keyring
from app.security.keystore import KeyringUnavailable, install_id
from app.security.redact import register_secret

UrlSource = Literal["env", "keyring"]


def _username(settings: Settings) -> str:
    return f"sync-url:{install_id(settings)}"


def device_id(settings: Settings) -> str:
    """This install's device id (profile.json), distinct on every device of a profile."""
    local_user_id(settings)
    try:
        data = json.loads((settings.data_dir / PROFILE_FILE).read_text(encoding="utf-8"))
        value = data.get("device_id") if isinstance(data, dict) else None
    except (OSError, ValueError):
        value = None
    return value if isinstance(value, str) and value else install_id(settings)


def _register(url: str) -> None:
    register_secret(url)
    password = urlsplit(url).password
    if password:
        register_secret(password)


def _url_in_keyring(settings: Settings) -> bool | None:
    """What sync.json says; None when it says nothing (never written, unreadable)."""
    try:
        data = json.loads((settings.data_dir / SYNC_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("url_in_keyring") if isinstance(data, dict) else None
    return value if isinstance(value, bool) else None


def load_sync_url(settings: Settings) -> tuple[str | None, UrlSource | None]:
    if settings.sync_url is not None:
        value = settings.sync_url.get_secret_value().strip()
        if value:
            _register(value)
            return value, "env"
    known = _url_in_keyring(settings)
    if known is False:
        return None, None  # `sync --set-url` was never run here, or undone by --clear-url
    choice = choose_keyring()
    if not choice.viable:
        return None, None
    try:
        stored: str | None = choice.backend.get_password(SERVICE, _username(settings))
    except Exception:
        return None, None
    if known is None:  # an install from before sync.json: ask once, remember the answer
        remember_url_in_keyring(settings, bool(stored))
    if stored:
        _register(stored)
        return stored, "keyring"
    return None, None


def store_sync_url(settings: Settings, url: str) -> None:
    url = (url or "").strip()
    if not is_postgres_url(url):
        raise InvalidInput(
            "The sync URL must be a postgresql:// URL (copy it from Neon's console).",
            field="sync_url",
        )
    _register(url)
    choice = choose_keyring()
    if not choice.viable:
        raise KeyringUnavailable(
            f"{choice.reason} The sync URL was NOT saved (it contains a password). "
            "Set TASKCHAT_SYNC_URL in the environment instead."
        )
    try:
        choice.backend.set_password(SERVICE, _username(settings), url)
    except Exception as exc:
        raise KeyringUnavailable(
            f"The {choice.label} did not accept the sync URL ({type(exc).__name__}). "
            "Set TASKCHAT_SYNC_URL instead."
        ) from None
    remember_url_in_keyring(settings, True)


def clear_sync_url(settings: Settings) -> None:
    choice = choose_keyring()
    if not choice.viable:
        return
    try:
        choice.backend.delete_password(SERVICE, _username(settings))
    except Exception:
        # Not there (PasswordDeleteError) is fine; if it is still there, the keyring
        # failed and sync.json keeps saying "ask it".
        try:
            if choice.backend.get_password(SERVICE, _username(settings)) is not None:
                return
        except Exception:
            return
    remember_url_in_keyring(settings, False)


def describe_url(url: str) -> str:
    """host/database, never the password."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{host}{parts.path or ''}"
