"""Logging: a rotating file in `<data dir>/logs/`, with secrets redacted.

The server writes `taskchat.log`; the desktop window, a process of its own, `window.log`
(two processes rotating one file would lose lines, and on Windows fail to rotate).

Redaction happens when a record is created (a LogRecord factory), so it covers every
logger and every handler, including uvicorn's and pytest's; the file handler's formatter
redacts the final text once more (tracebacks included).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import threading
from pathlib import Path

from app.config import Settings
from app.security.redact import redact, redact_value

LOG_FILE_NAME = "taskchat.log"
WINDOW_LOG_FILE_NAME = "window.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_lock = threading.Lock()
_file_handler: logging.Handler | None = None
_factory_installed = False


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Rotates like its parent; the new file is 0600 whatever the umask (it was 0644)."""

    def doRollover(self) -> None:
        super().doRollover()
        if os.name == "posix":
            try:
                os.chmod(self.baseFilename, 0o600)
            except OSError:
                pass


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingFilter(logging.Filter):
    """Redacts a record's message and arguments in place (usable on any handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    if getattr(record, "_taskchat_redacted", False):
        return
    try:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        else:
            record.msg = redact_value(record.msg)
        if record.args:
            record.args = redact_value(record.args)  # type: ignore[assignment]  # same shape back
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
    except Exception:  # pragma: no cover - never let logging break the app
        record.msg, record.args = "[unloggable message redacted]", None
    record._taskchat_redacted = True


def _install_record_factory() -> None:
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def log_file_path(settings: Settings, name: str = LOG_FILE_NAME) -> Path:
    return settings.log_dir / name


def setup_logging(settings: Settings, name: str = LOG_FILE_NAME) -> Path:
    """Idempotent: (re)points the one TaskChat file handler at this data folder."""
    global _file_handler
    _install_record_factory()
    settings.ensure_data_dir()
    path = log_file_path(settings, name)
    with _lock:
        root = logging.getLogger()
        current = getattr(_file_handler, "baseFilename", None)
        if _file_handler is not None and current == str(path):
            return path
        if _file_handler is not None:
            root.removeHandler(_file_handler)
            _file_handler.close()
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.close(fd)
        handler = PrivateRotatingFileHandler(
            path, maxBytes=2 * 1024 * 1024, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(RedactingFormatter(_FORMAT))
        handler.addFilter(RedactingFilter())
        level = logging.getLevelName(settings.log_level.upper())
        handler.setLevel(level if isinstance(level, int) else logging.INFO)
        root.addHandler(handler)
        # Alembic announces each of its autogenerate plugins at INFO whenever it migrates
        # (six lines of its internals atop every first launch's log); its "Running
        # upgrade" lines, which say what changed in the database, stay.
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        if root.level == logging.NOTSET or root.level > handler.level:
            root.setLevel(handler.level)
        _file_handler = handler
    return path
