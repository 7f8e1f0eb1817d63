"""Secret hygiene in logs: the redaction patterns, the registry, and the log file."""

from __future__ import annotations

import logging

import pytest

from app.logging_setup import log_file_path, setup_logging
from app.security.redact import forget_secret, redact, register_secret

GOOGLE_KEY = "AIza" + "SyC-0123456789abcdefghijklmnopqrstuv"[:35]
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"calling Gemini with {GOOGLE_KEY} now", GOOGLE_KEY),
        (f"Authorization: Bearer {GOOGLE_KEY}", GOOGLE_KEY),
        ("Authorization: bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        (f"cookie taskchat_session={JWT}", JWT),
        ("openai key sk-proj-abcdefghijklmnop1234", "abcdefghijklmnop1234"),
        ("GET /?launch=Zx9_-abcdefghijklmnop HTTP/1.1", "Zx9_-abcdefghijklmnop"),
        ('{"api_key": "hunter2-very-secret"}', "hunter2-very-secret"),
        ("https://x.test/models?key=abcdef123456&alt=json", "abcdef123456"),
        ("x-goog-api-key: zzzzyyyyxxxx", "zzzzyyyyxxxx"),
    ],
)
def test_patterns(text, secret):
    out = redact(text)
    assert secret not in out
    assert "[redacted]" in out


def test_registered_secret_in_any_format_is_redacted():
    odd = "my-company-proxy-token-42"
    assert odd in redact(f"using {odd}")
    register_secret(odd)
    try:
        assert odd not in redact(f"using {odd}")
    finally:
        forget_secret(odd)


def test_plain_text_is_untouched():
    text = "Created task 'Buy milk' due 2026-11-25 (max_tokens=100)"
    assert redact(text) == text


def test_log_file_is_redacted_including_args_and_tracebacks(settings):
    path = setup_logging(settings)
    assert path == log_file_path(settings) == settings.data_dir / "logs" / "taskchat.log"
    assert path.stat().st_mode & 0o777 == 0o600
    log = logging.getLogger("app.test")
    log.warning("key is %s", GOOGLE_KEY)
    log.warning(f"header Bearer {GOOGLE_KEY}")
    log.warning("dict %s", {"auth": f"Bearer {JWT}"})
    try:
        raise RuntimeError(f"request failed with key {GOOGLE_KEY}")
    except RuntimeError:
        log.exception("boom")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text()
    assert "key is AIza[redacted]" in text
    assert "RuntimeError: request failed" in text
    assert GOOGLE_KEY not in text
    assert JWT not in text


def test_records_seen_by_other_handlers_are_redacted(settings, caplog):
    setup_logging(settings)
    with caplog.at_level(logging.INFO):
        logging.getLogger("uvicorn.error").info("bad request ?launch=secretlaunchtoken123")
    assert "secretlaunchtoken123" not in caplog.text


def test_setup_logging_is_idempotent(settings):
    setup_logging(settings)
    setup_logging(settings)
    ours = [
        h
        for h in logging.getLogger().handlers
        if getattr(h, "baseFilename", None) == str(log_file_path(settings))
    ]
    assert len(ours) == 1
