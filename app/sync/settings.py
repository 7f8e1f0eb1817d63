"""Where the sync URL comes from: TASKCHAT_SYNC_URL, else the OS keyring (it holds a
password, so it is never written to config.json).

Whether the keyring holds one is remembered in sync.json (a yes/no, nothing secret): every
start asks for the URL, and without it each start would ask the Secret Service over D-Bus
(~60 ms before the server answers), although most installs never set one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from app.config import Settings
from app.db.postgres import is_postgres_url
from app.errors import InvalidInput
from app.fileio import write_private_text
from app.profile import PROFILE_FILE, SYNC_STATE_FILE, local_user_id, remember_url_in_keyring
from app.security.keyrings import SERVICE, choose_keyring
from app.security.keystore import KeyringUnavailable, install_id
from app.security.redact import register_secret

UrlSource = Literal["env", "keyring", "file"]


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
    in_file = _read_secrets_file(settings).get("url")
    if in_file:
        _register(in_file)
        return in_file, "file"
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


# ------------------------------------------------------------- a sync space (pairing)
#
# A space joined or started here is described in sync-space.json (nothing secret: the
# space id, this device's name, how to recognise the code) and its secrets — the URL and
# the sync key — are kept like the Gemini key: in the OS keyring, or, only when the
# person explicitly chose it because no keyring works, in a 0600 file marked UNENCRYPTED.

SPACE_FILE = "sync-space.json"
PLAINTEXT_SECRETS_FILE = "sync-secrets.UNENCRYPTED.json"
_PLAINTEXT_NOTE = (
    "TaskChat sync URL and sync key - STORED UNENCRYPTED. You chose this file because no "
    "OS keyring was available. Anyone who can read your files can read your synced data "
    "with these. Remove them with Settings > Sync > Stop syncing on this device."
)
SecretsPlace = Literal["keyring", "file"]


def _key_username(settings: Settings) -> str:
    return f"sync-key:{install_id(settings)}"


def read_space(settings: Settings) -> dict[str, Any] | None:
    try:
        data = json.loads((settings.data_dir / SPACE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("space_id"), str) else None


def write_space(settings: Settings, info: dict[str, Any] | None) -> None:
    path = settings.data_dir / SPACE_FILE
    if info is None:
        path.unlink(missing_ok=True)
        return
    _write_private(path, json.dumps(info, indent=1) + "\n")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_text(path, text)


def _read_secrets_file(settings: Settings) -> dict[str, str]:
    try:
        data = json.loads((settings.data_dir / PLAINTEXT_SECRETS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in ("url", "key") and isinstance(v, str)}


def secrets_storable(settings: Settings, *, allow_plaintext_file: bool) -> None:
    """Raise KeyringUnavailable (before anything is written) when the secrets could not
    be kept: no usable keyring and the plaintext file not allowed."""
    if allow_plaintext_file:
        return
    choice = choose_keyring()
    if not choice.viable:
        raise KeyringUnavailable(
            f"{choice.reason} The sync URL and key were NOT saved, and nothing was set up. "
            "You can keep them instead in a file in the TaskChat data folder, stored "
            "unencrypted (anyone who can read your files could read your synced data): "
            "allow the plaintext file (Settings > Sync, API: allow_plaintext_file=true, "
            "CLI: taskchat sync setup --plaintext-file)."
        )


def store_space_secrets(
    settings: Settings, *, url: str, key_code: str, allow_plaintext_file: bool
) -> SecretsPlace:
    """Keep the URL and the sync key; returns where they went."""
    _register(url)
    register_secret(key_code)
    choice = choose_keyring()
    if choice.viable:
        try:
            choice.backend.set_password(SERVICE, _username(settings), url)
            choice.backend.set_password(SERVICE, _key_username(settings), key_code)
        except Exception:
            if not allow_plaintext_file:
                raise KeyringUnavailable(
                    f"The {choice.label} did not accept the sync secrets. Allow the "
                    "plaintext file, or unlock the keyring and try again."
                ) from None
        else:
            remember_url_in_keyring(settings, True)
            (settings.data_dir / PLAINTEXT_SECRETS_FILE).unlink(missing_ok=True)
            return "keyring"
    if not allow_plaintext_file:
        secrets_storable(settings, allow_plaintext_file=False)
    _write_private(
        settings.data_dir / PLAINTEXT_SECRETS_FILE,
        json.dumps({"warning": _PLAINTEXT_NOTE, "url": url, "key": key_code}, indent=1) + "\n",
    )
    remember_url_in_keyring(settings, False)
    return "file"


def load_sync_key(settings: Settings) -> str | None:
    """The pairing code of the space this device syncs with (keyring, then the file)."""
    if read_space(settings) is None:
        return None
    value = _read_secrets_file(settings).get("key")
    if not value and _url_in_keyring(settings) is not False:
        choice = choose_keyring()
        if choice.viable:
            try:
                value = choice.backend.get_password(SERVICE, _key_username(settings))
            except Exception:
                value = None
    if value:
        register_secret(value)
    return value or None


def secrets_place(settings: Settings) -> SecretsPlace | None:
    if _read_secrets_file(settings):
        return "file"
    return "keyring" if _url_in_keyring(settings) else None


def clear_space(settings: Settings) -> None:
    """Forget the space here: its secrets (keyring and file) and sync-space.json."""
    (settings.data_dir / PLAINTEXT_SECRETS_FILE).unlink(missing_ok=True)
    choice = choose_keyring()
    if choice.viable:
        try:
            choice.backend.delete_password(SERVICE, _key_username(settings))
        except Exception:
            pass
    clear_sync_url(settings)
    write_space(settings, None)
