"""Where the Gemini API key (and the session signing secret) are kept.

Lookup order for the Gemini key: the GEMINI_API_KEY environment variable, then the OS
keyring, then — only if the person explicitly chose it because no keyring works — a 0600
file in the data folder that is clearly marked as stored unencrypted. Storing never
falls back to that file silently: without `allow_plaintext_file` a missing or locked
keyring is an error the person sees (KeyringUnavailable).

Keyring entries are scoped to this install (the profile's device id), so two data
folders on one computer — or a test run — never overwrite each other's key.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from app.config import Settings
from app.errors import DomainError, InvalidInput
from app.fileio import write_private_text
from app.profile import PROFILE_FILE, local_user_id
from app.security.keyrings import SERVICE, KeyringChoice, choose_keyring
from app.security.redact import forget_secret, register_secret

log = logging.getLogger(__name__)

PLAINTEXT_KEY_FILE = "gemini-api-key.UNENCRYPTED.txt"
# Rewritten (a new file, so a new inode) whenever a key is stored or cleared, by any
# TaskChat process on this data folder: how a running server learns that the key it
# keeps in memory is stale. Holds nothing secret.
KEY_STAMP_FILE = "gemini-key.stamp"
SIGNING_SECRET_FILE = "session-secret.key"
_PLAINTEXT_HEADER = (
    "# TaskChat Gemini API key - STORED UNENCRYPTED.\n"
    "# You chose this file because no OS keyring was available. Anyone who can read\n"
    "# your files can read this key. Remove it with `taskchat key clear`.\n"
)
MAX_KEY_LENGTH = 512
KeySource = Literal["env", "keyring", "file"]


class KeyringUnavailable(DomainError):
    """No usable OS keyring, and the person did not choose the plaintext file."""

    code = "keyring_unavailable"
    status = 409


@dataclass(frozen=True)
class KeyringStatus:
    available: bool
    backend: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class KeyInfo:
    set: bool
    last4: str | None
    source: KeySource | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# ---------------------------------------------------------------------------- helpers


def install_id(settings: Settings) -> str:
    """A stable id for this data folder (the profile's device id)."""
    user_id = local_user_id(settings)
    try:
        data = json.loads((settings.data_dir / PROFILE_FILE).read_text(encoding="utf-8"))
        device = data.get("device_id") if isinstance(data, dict) else None
    except (OSError, ValueError):
        device = None
    return device if isinstance(device, str) and device else user_id


def _key_username(settings: Settings) -> str:
    return f"gemini-api-key:{install_id(settings)}"


def _signing_username(settings: Settings) -> str:
    return f"session-signing-secret:{install_id(settings)}"


def plaintext_key_path(settings: Settings) -> Path:
    return settings.data_dir / PLAINTEXT_KEY_FILE


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_text(path, text)


def _keyring_message(choice: KeyringChoice, exc: BaseException | None = None) -> str:
    if exc is None:
        return choice.reason or f"Using the {choice.label}."
    from keyring.errors import KeyringLocked, NoKeyringError  # loaded with the backend

    if isinstance(exc, KeyringLocked):
        return (
            f"The {choice.label} is locked and was not unlocked. "
            "Unlock it (or log in again) and retry."
        )
    if isinstance(exc, NoKeyringError):
        return choice.reason or "This computer has no usable keyring."
    # Never echo the exception text verbatim into API answers: it is redacted for logs,
    # but the message the person sees only needs the kind of failure.
    return f"The {choice.label} did not answer ({type(exc).__name__})."


def validate_key(raw: str) -> str:
    value = (raw or "").strip()
    if not value:
        raise InvalidInput("The API key is empty.", field="api_key")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidInput("The API key is too long.", field="api_key")
    if any(ch.isspace() or not ch.isprintable() or ord(ch) > 126 for ch in value):
        raise InvalidInput(
            "The API key contains spaces or unusual characters; paste just the key.",
            field="api_key",
        )
    return value


def _last4(value: str) -> str | None:
    return value[-4:] if len(value) >= 8 else None


# ---------------------------------------------------------------------- the Gemini key


def _env_key(settings: Settings) -> str | None:
    if settings.gemini_api_key is not None:
        value = settings.gemini_api_key.get_secret_value().strip()
        if value:
            return value
    return None


def _read_keyring(settings: Settings) -> tuple[str | None, KeyringStatus]:
    choice = choose_keyring()
    if not choice.viable:
        return None, KeyringStatus(False, choice.name, _keyring_message(choice))
    try:
        value = choice.backend.get_password(SERVICE, _key_username(settings))
    except Exception as exc:
        log.warning("reading the keyring failed: %s", type(exc).__name__)
        return None, KeyringStatus(False, choice.name, _keyring_message(choice, exc))
    return (value or None), KeyringStatus(True, choice.name, _keyring_message(choice))


def _read_file(settings: Settings) -> str | None:
    path = plaintext_key_path(settings)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line
    return None


def resolve_gemini_key(settings: Settings) -> tuple[str | None, KeySource | None, KeyringStatus]:
    """The key, where it came from, and what the keyring said (env first, then keyring,
    then the explicit plaintext file)."""
    env = _env_key(settings)
    value, status = _read_keyring(settings)
    source: KeySource | None = None
    if env:
        value, source = env, "env"
    elif value:
        source = "keyring"
    else:
        value = _read_file(settings)
        source = "file" if value else None
    register_secret(value)
    return value, source, status


# The key last read from the keyring or the file, kept for the chat turns that follow:
# reading the keyring is a D-Bus round trip to the Secret Service on Linux (~16 ms on a
# quiet machine, with a DH key exchange per read), paid before every model request.
Stamp = tuple[tuple[int, int] | None, tuple[int, int, int] | None]
# One tuple, replaced whole: a reader in another thread sees the old one or the new one.
_cached_key: tuple[Path, Stamp, str] | None = None


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _key_stamp(settings: Settings) -> Stamp:
    """What says whether a kept key is still current: the stamp file that storing and
    clearing rewrite, and the plaintext key file (a person may edit it by hand)."""
    stamp = _stat(settings.data_dir / KEY_STAMP_FILE)
    plain = _stat(plaintext_key_path(settings))
    return (
        (stamp.st_ino, stamp.st_mtime_ns) if stamp else None,
        (plain.st_ino, plain.st_mtime_ns, plain.st_size) if plain else None,
    )


def cached_gemini_key(settings: Settings) -> str | None:
    """The key without any keyring read: from GEMINI_API_KEY, or the one read last while
    nothing has changed it since. None means: call load_gemini_key (it may block)."""
    env = _env_key(settings)
    if env:
        register_secret(env)
        return env
    cached = _cached_key
    if cached is not None and cached[:2] == (settings.data_dir, _key_stamp(settings)):
        return cached[2]
    return None


def load_gemini_key(settings: Settings, *, fresh: bool = False) -> str | None:
    """The key to call Gemini with, or None when none is configured. `fresh` reads the
    store even when a key is kept (an explicit check must see a key replaced elsewhere)."""
    global _cached_key
    kept = None if fresh else cached_gemini_key(settings)
    if kept:
        return kept
    # Taken before the read: a change made while reading leaves a stamp that differs.
    stamp = _key_stamp(settings)
    value, _source, _status = resolve_gemini_key(settings)
    # Only a key found is kept: a locked or missing keyring is asked again next time.
    _cached_key = (settings.data_dir, stamp, value) if value else None
    return value


def forget_cached_gemini_key() -> None:
    """Read the key from its store again next time (Gemini rejected the one kept: it may
    have been replaced outside TaskChat, e.g. in the desktop's password manager)."""
    global _cached_key
    _cached_key = None


def _key_changed(settings: Settings) -> None:
    """A key was stored or cleared: every TaskChat process on this folder reads it anew."""
    forget_cached_gemini_key()
    _write_private(settings.data_dir / KEY_STAMP_FILE, secrets.token_hex(8) + "\n")


def gemini_key_info(settings: Settings) -> tuple[KeyInfo, KeyringStatus]:
    value, source, status = resolve_gemini_key(settings)
    info = KeyInfo(set=bool(value), last4=_last4(value) if value else None, source=source)
    return info, status


def ensure_storable(*, allow_plaintext_file: bool) -> None:
    """Raise KeyringUnavailable when a key could not be stored now (as store_gemini_key
    would), so that nobody is asked for anything before that is said."""
    choice = choose_keyring()
    if not choice.viable and not allow_plaintext_file:
        raise KeyringUnavailable(_not_saved(choice.reason))


def _not_saved(reason: str) -> str:
    return (
        f"{reason} The key was NOT saved. You can keep it instead in a file in the "
        "TaskChat data folder, stored unencrypted (anyone who can read your files can "
        "read it): allow the plaintext file (API: allow_plaintext_file=true; "
        "CLI: taskchat key set --plaintext-file), or set GEMINI_API_KEY."
    )


def store_gemini_key(
    settings: Settings, api_key: str, *, allow_plaintext_file: bool = False
) -> KeySource:
    """Keep `api_key` in the OS keyring, or in the plaintext file if (and only if) the
    keyring is unusable and the person allowed it. Returns where it went."""
    value = validate_key(api_key)
    register_secret(value)
    settings.ensure_data_dir()
    choice = choose_keyring()
    failure: BaseException | None = None
    if choice.viable:
        try:
            choice.backend.set_password(SERVICE, _key_username(settings), value)
        except Exception as exc:
            log.warning("storing the key in the keyring failed: %s", type(exc).__name__)
            failure = exc
        else:
            # A key now safely in the keyring must not linger unencrypted on disk.
            plaintext_key_path(settings).unlink(missing_ok=True)
            _key_changed(settings)
            log.info("Gemini API key stored in the %s", choice.label)
            return "keyring"
    if not allow_plaintext_file:
        reason = _keyring_message(choice, failure) if failure else choice.reason
        raise KeyringUnavailable(_not_saved(reason))
    _write_private(plaintext_key_path(settings), _PLAINTEXT_HEADER + value + "\n")
    _key_changed(settings)
    log.warning("Gemini API key stored UNENCRYPTED in the data folder (no keyring)")
    return "file"


def clear_gemini_key(settings: Settings) -> KeyringStatus:
    """Remove the stored key from the keyring and the plaintext file (env is untouched)."""
    old, _source, _status = resolve_gemini_key(settings)
    plaintext_key_path(settings).unlink(missing_ok=True)
    choice = choose_keyring()
    if not choice.viable:
        status = KeyringStatus(False, choice.name, _keyring_message(choice))
    else:
        from keyring.errors import PasswordDeleteError  # loaded with the backend

        try:
            choice.backend.delete_password(SERVICE, _key_username(settings))
            status = KeyringStatus(True, choice.name, _keyring_message(choice))
        except PasswordDeleteError:
            status = KeyringStatus(True, choice.name, _keyring_message(choice))
        except Exception as exc:
            log.warning("removing the key from the keyring failed: %s", type(exc).__name__)
            status = KeyringStatus(False, choice.name, _keyring_message(choice, exc))
            if _read_keyring(settings)[0]:
                raise KeyringUnavailable(
                    f"{status.message} The key is still stored in the keyring."
                ) from None
    _key_changed(settings)
    if old and old != _env_key(settings):
        forget_secret(old)
    log.info("Gemini API key removed")
    return status


# ------------------------------------------------------------- the session signing key


def load_signing_secret(settings: Settings) -> bytes:
    """This install's 256-bit JWT signing secret: from the keyring (created on first
    use), or from a 0600 file in the data folder when no keyring works."""
    choice = choose_keyring()
    username = _signing_username(settings)
    if choice.viable:
        try:
            stored = choice.backend.get_password(SERVICE, username)
            secret = _decode_secret(stored)
            if secret is None:
                secret = secrets.token_bytes(32)
                choice.backend.set_password(SERVICE, username, _encode_secret(secret))
            return secret
        except Exception as exc:
            log.info("keyring unusable for the signing secret (%s); using a file", type(exc))
    path = settings.data_dir / SIGNING_SECRET_FILE
    try:
        secret = _decode_secret(path.read_text(encoding="utf-8").strip())
    except OSError:
        secret = None
    if secret is None:
        secret = secrets.token_bytes(32)
        _write_private(path, _encode_secret(secret) + "\n")
    return secret


def _encode_secret(secret: bytes) -> str:
    return base64.urlsafe_b64encode(secret).decode("ascii")


def _decode_secret(stored: str | None) -> bytes | None:
    if not stored:
        return None
    try:
        secret = base64.urlsafe_b64decode(stored.encode("ascii"))
    except (ValueError, UnicodeError):
        return None
    return secret if len(secret) >= 32 else None
