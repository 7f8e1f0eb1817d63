"""Redaction of secrets from any text that may reach a log, an error message or a file.

Two layers: patterns for things that look like credentials (Google API keys, bearer
tokens, JWTs, OpenAI-style keys, launch tokens, `api_key=` pairs) and an exact-match
registry of the secrets this process actually handles (the Gemini key it loaded, the
signing secret), so even a key in an unusual format is caught.
"""

from __future__ import annotations

import re
import threading

REDACTED = "[redacted]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Google API keys (Gemini): "AIza" + 35 characters.
    (re.compile(r"AIza[0-9A-Za-z_\-]{35}"), "AIza" + REDACTED),
    # JSON Web Tokens (session and launch tokens): header.payload.signature.
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),
    # Authorization headers.
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{6,}"), r"\1 " + REDACTED),
    # OpenAI-style keys.
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), "sk-" + REDACTED),
    # One-time launch tokens in URLs.
    (re.compile(r"(?i)([?&]launch=)[^&#\s\"'<>]+"), r"\1" + REDACTED),
    # api_key=..., "api_key": "...", x-goog-api-key: ..., key=... in URLs.
    (
        re.compile(
            r"(?i)((?:api[_-]?key|x-goog-api-key|secret|password|token)[\"']?\s*[:=]\s*[\"']?)"
            r"[^\s\"'&,;}]+"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)([?&]key=)[^&#\s\"'<>]+"), r"\1" + REDACTED),
)

_known: set[str] = set()
_known_lock = threading.Lock()
_MIN_SECRET_LEN = 8


def register_secret(value: str | None) -> None:
    """Remember a secret this process holds so it is redacted verbatim wherever it appears."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _known_lock:
            _known.add(value)


def forget_secret(value: str | None) -> None:
    if value:
        with _known_lock:
            _known.discard(value)


def redact(text: str) -> str:
    """`text` with every known secret and everything that looks like a credential removed."""
    if not text:
        return text
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: object) -> object:
    """Redacts strings (and the strings inside tuples/lists/dicts) used as log arguments."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace"))
    if isinstance(value, tuple):
        return tuple(redact_value(v) for v in value)
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Anything else (exceptions, URLs, models) is rendered now, then redacted.
    return redact(str(value))
