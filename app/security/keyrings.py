"""Which OS keyring TaskChat talks to, chosen explicitly.

keyring's own auto-detection picks the highest-priority installed backend, so merely
installing keyrings.alt (a plaintext/"encrypted" file backend) would silently move the
key into a file. TaskChat never asks keyring to choose: it uses the platform's native
store (Secret Service on Linux/BSD, Keychain on macOS, Credential Manager on Windows)
when that store is viable, and keyring's real `fail` backend otherwise.

`TASKCHAT_KEYRING_BACKEND` = secretservice | macos | windows | fail overrides the choice.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

# `keyring` itself is imported on first use: with its jaraco/importlib_metadata helpers
# it is ~20 ms that the server would otherwise spend before it answers at all.
if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

ENV_VAR = "TASKCHAT_KEYRING_BACKEND"
SERVICE = "TaskChat"
CHOICES = ("secretservice", "macos", "windows", "fail")

_NAMES = {
    "secretservice": "Secret Service (GNOME Keyring / KWallet)",
    "macos": "macOS Keychain",
    "windows": "Windows Credential Manager",
    "fail": "none",
}


@dataclass(frozen=True)
class KeyringChoice:
    """The backend to use plus why: `viable` is False for the fail backend."""

    backend: KeyringBackend
    name: str  # one of CHOICES
    label: str  # human-readable store name
    viable: bool
    reason: str  # empty when viable; otherwise what the person should know


def _platform_default() -> str:
    if sys.platform == "darwin":
        return "macos"
    if sys.platform.startswith("win"):
        return "windows"
    return "secretservice"


def _load(name: str) -> type[KeyringBackend]:
    if name == "secretservice":
        # keyring loads after start-up (README: start-up)
        from keyring.backends import SecretService

        return SecretService.Keyring
    if name == "macos":
        # keyring loads after start-up (README: start-up)
        from keyring.backends import macOS

        return macOS.Keyring
    if name == "windows":
        # keyring loads after start-up (README: start-up)
        from keyring.backends import Windows

        return Windows.WinVaultKeyring
    # keyring loads after start-up (README: start-up)
    from keyring.backends import fail

    return fail.Keyring


def _unavailable(name: str, reason: str) -> KeyringChoice:
    return KeyringChoice(
        backend=_load("fail")(), name="fail", label=_NAMES["fail"], viable=False, reason=reason
    )


def choose_keyring() -> KeyringChoice:
    """The keyring backend for this process (checked on every call: it is cheap)."""
    requested = os.environ.get(ENV_VAR, "").strip().lower()
    if requested and requested not in CHOICES:
        return _unavailable(
            requested,
            f"{ENV_VAR}={requested!r} is not one of {', '.join(CHOICES)}; no keyring is used.",
        )
    name = requested or _platform_default()
    if name == "fail":
        return _unavailable(
            name,
            f"No keyring is in use ({ENV_VAR}=fail)."
            if requested
            else "This computer has no usable keyring.",
        )
    try:
        cls = _load(name)
        priority = cls.priority  # raises when the backend cannot work here
    except Exception as exc:  # ImportError, RuntimeError, D-Bus errors …
        return _unavailable(name, _explain(name, exc))
    if not priority or priority <= 0:
        return _unavailable(name, f"The {_NAMES[name]} is not usable on this computer.")
    return KeyringChoice(backend=cls(), name=name, label=_NAMES[name], viable=True, reason="")


def _explain(name: str, exc: BaseException) -> str:
    detail = str(exc).strip().rstrip(".") or type(exc).__name__
    if name == "secretservice":
        return f"No Secret Service keyring is running (GNOME Keyring or KWallet): {detail}."
    return f"The {_NAMES[name]} is not available: {detail}."
