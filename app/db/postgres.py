"""PostgreSQL / Neon connection details shared by the primary store and sync.

* `normalise_postgres_url` turns a URL as pasted from Neon's console into an asyncpg URL
  plus connect arguments (TLS verified against the system trust store, no
  `channel_binding`, statement caches off for PgBouncer transaction mode).
* `is_retryable_connect_error` says whether a failed connect is worth retrying (Neon
  wakes a suspended compute on the first connect; that can take a few seconds).
* `connect` opens one plain asyncpg connection with those rules (used by sync).
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

log = logging.getLogger(__name__)

POSTGRES_SCHEMES = ("postgres://", "postgresql://", "postgresql+asyncpg://")
CONNECT_TIMEOUT = 10.0  # seconds per attempt
CONNECT_ATTEMPTS = 5  # Neon cold start: a few seconds at most
_TLS_MODES = ("require", "verify-ca", "verify-full")


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.startswith(POSTGRES_SCHEMES)  # type: ignore[union-attr]


def _statement_name() -> str:
    # Unique names: behind PgBouncer (transaction mode) two client connections may share
    # one server connection, so asyncpg's counter-based names would collide.
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _tls_context(mode: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context()  # system trust store, hostname checked
    if mode == "verify-ca":
        ctx.check_hostname = False
    return ctx


def _split_options(value: str) -> dict[str, str]:
    """libpq `options` ("-c key=value ...", or Neon's "endpoint=ep-...") → server settings.

    Neon's `endpoint=` option is only needed by clients without SNI; asyncpg sends SNI.
    """
    settings: dict[str, str] = {}
    tokens = unquote(value).replace("-c ", "-c=").split()
    for token in tokens:
        token = token.removeprefix("-c=").removeprefix("--")
        key, sep, val = token.partition("=")
        if sep and key and key != "endpoint":
            settings[key.replace("-", "_")] = val
    return settings


def normalise_postgres_url(url: str) -> tuple[str, dict[str, Any]]:
    """Turn a URL as pasted from Neon's console into (SQLAlchemy asyncpg URL, connect_args).

    asyncpg rejects `sslmode`, `channel_binding`, `connect_timeout` and `options` as
    keyword arguments, so they are translated: TLS becomes an SSLContext that verifies
    against the system trust store; `channel_binding` is dropped (asyncpg negotiates
    SCRAM itself).
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    sslmode = query.pop("sslmode", None)
    ssl_param = query.pop("ssl", None)
    mode = sslmode or ssl_param
    query.pop("channel_binding", None)
    query.pop("pgbouncer", None)
    timeout = query.pop("connect_timeout", None)
    options = query.pop("options", None)
    connect_args: dict[str, Any] = {
        # PgBouncer in transaction mode (Neon's -pooler hosts) breaks prepared statements.
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _statement_name,
        "timeout": float(timeout) if timeout else CONNECT_TIMEOUT,
    }
    if mode in _TLS_MODES:
        connect_args["ssl"] = _tls_context(mode)
    elif mode in ("disable", "false"):
        connect_args["ssl"] = False
    elif mode in ("prefer", "allow"):
        connect_args["ssl"] = mode
    if options:
        server_settings = _split_options(options)
        if server_settings:
            connect_args["server_settings"] = server_settings
    clean = urlunsplit(
        ("postgresql+asyncpg", parts.netloc, parts.path, urlencode(query), parts.fragment)
    )
    return clean, connect_args


def asyncpg_connect_args(url: str) -> tuple[str, dict[str, Any]]:
    """(DSN for asyncpg.connect, keyword arguments) for a pasted URL."""
    clean, args = normalise_postgres_url(url)
    args = dict(args)
    args.pop("prepared_statement_cache_size")
    args.pop("prepared_statement_name_func")
    return clean.replace("postgresql+asyncpg://", "postgresql://", 1), args


def is_retryable_connect_error(exc: BaseException) -> bool:
    """Network trouble and "server is starting" are retried; bad passwords are not."""
    import asyncpg

    if isinstance(exc, (OSError, TimeoutError, asyncio.TimeoutError)):
        return True
    if isinstance(
        exc,
        (
            asyncpg.CannotConnectNowError,
            asyncpg.TooManyConnectionsError,
            asyncpg.ConnectionDoesNotExistError,
        ),
    ):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        # Neon's proxy answers while the compute wakes up.
        text = str(exc).lower()
        return "compute" in text or "starting up" in text or "waking" in text
    return False


def backoff_delays(attempts: int = CONNECT_ATTEMPTS, base: float = 0.25) -> list[float]:
    return [min(4.0, base * 2**i) * (0.8 + 0.4 * random.random()) for i in range(attempts - 1)]


async def connect(url: str, *, attempts: int = CONNECT_ATTEMPTS, **overrides: Any):  # type: ignore[no-untyped-def]
    """One asyncpg connection, retried with backoff while the server is waking up."""
    import asyncpg

    dsn, kwargs = asyncpg_connect_args(url)
    kwargs.update(overrides)
    delays = backoff_delays(attempts)
    for attempt in range(attempts):
        try:
            return await asyncpg.connect(dsn, **kwargs)
        except Exception as exc:
            if attempt == attempts - 1 or not is_retryable_connect_error(exc):
                raise
            log.info("PostgreSQL not reachable yet (%s); retrying", type(exc).__name__)
            await asyncio.sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover
