"""Where the Gemini API key comes from: GEMINI_API_KEY, then the OS keyring."""

from __future__ import annotations

from app.config import Settings


def load_gemini_key(settings: Settings) -> str | None:
    """The key to call Gemini with, or None when none is configured."""
    if settings.gemini_api_key is not None:
        value = settings.gemini_api_key.get_secret_value().strip()
        if value:
            return value
    return None
