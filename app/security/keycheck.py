"""Ask Gemini whether an API key is accepted (Settings, first run and `taskchat key set`)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Literal

from app.config import Settings
from app.errors import DomainError

log = logging.getLogger(__name__)

CheckStatus = Literal["valid", "rejected", "offline", "missing", "error"]
CHECK_TIMEOUT = 10.0
_REASON_MAX = 200


class KeyRejected(DomainError):
    """Gemini refused the key on save: it was not stored."""

    code = "key_rejected"
    status = 422


class KeyNotChecked(DomainError):
    """Gemini could not be asked about the key (offline, an outage): it was not stored."""

    code = "key_not_checked"
    status = 503


@dataclass(frozen=True)
class KeyCheck:
    status: CheckStatus
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _gemini_reason(body: bytes) -> str | None:
    """Gemini's own words from an error body (a JSON list of one object, or an object)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, list) and data:
        data = data[0]
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message.strip():
        return None
    message = " ".join(message.split())
    return message if len(message) <= _REASON_MAX else message[: _REASON_MAX - 1] + "…"


def check_gemini_key(settings: Settings, key: str) -> KeyCheck:
    """Lists Gemini's models with `key`: costs no quota and proves the key works."""
    # The HTTP client the Gemini client is built on (openai uses httpx2); imported here, not
    # at the top, as the chat machinery loads it off the start-up path.
    import httpx2

    url = settings.gemini_base_url.rstrip("/") + "/models"
    try:
        with httpx2.Client(timeout=CHECK_TIMEOUT, follow_redirects=False) as http:
            response = http.get(url, headers={"Authorization": f"Bearer {key}"})
    except httpx2.HTTPError as exc:
        log.info("key check: Gemini not reachable (%s)", type(exc).__name__)
        return KeyCheck(
            "offline",
            "Couldn't reach Gemini to check the key: this computer may be offline, "
            "or Gemini may be down.",
        )
    if response.status_code == 200:
        return KeyCheck("valid", "Gemini accepted the key.")
    if response.status_code in (400, 401, 403):
        reason = _gemini_reason(response.content)
        return KeyCheck(
            "rejected",
            "Google rejected this key"
            + (f": “{reason}”" if reason else ".")
            + " Check that you copied the whole key from Google AI Studio.",
        )
    if response.status_code == 429:
        return KeyCheck("valid", "Gemini accepted the key but says its quota is used up.")
    log.info("key check: Gemini answered %d", response.status_code)
    return KeyCheck("error", f"Gemini answered with an unexpected status ({response.status_code}).")
