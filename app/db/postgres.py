"""PostgreSQL / Neon connection details shared by the primary store and sync.

* `normalise_postgres_url` turns a URL as pasted from Neon's console into an asyncpg URL
  plus connect arguments (TLS verified against the system trust store, no
  `channel_binding`, statement caches off for PgBouncer transaction mode).
* `is_retryable_connect_error` says whether a failed connect is worth retrying (Neon
  wakes a suspended compute on the first connect; that can take a few seconds), and
  `retrying_connect` is the one retry policy (tenacity) for every PostgreSQL connect.
* `connect` opens one plain asyncpg connection with those rules (used by sync).
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    import asyncpg
    import tenacity

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

POSTGRES_SCHEMES = ("postgres://", "postgresql://", "postgresql+asyncpg://")
CONNECT_TIMEOUT = 10.0  # seconds per attempt
CONNECT_ATTEMPTS = 5  # Neon cold start: a few seconds at most
_TLS_MODES = ("require", "verify-ca", "verify-full")


def is_postgres_url(url: str | None) -> bool:
    return url is not None and url.startswith(POSTGRES_SCHEMES)


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
    import asyncpg  # a PostgreSQL connect has loaded it already; SQLite starts never do

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


def _backoff(state: tenacity.RetryCallState) -> float:
    """0.25 s doubling up to 4 s, each ±20 % so that waking clients spread out."""
    return min(4.0, 0.25 * 2 ** (state.attempt_number - 1)) * (0.8 + 0.4 * random.random())


def retrying_connect(
    connect: Callable[P, T],
    *,
    what: str = "PostgreSQL",
    attempts: int = CONNECT_ATTEMPTS,
    sleep: Callable[[float], object] | None = None,
) -> Callable[P, T]:
    """`connect` (a function or a coroutine function), retried while the server wakes up.

    Only `is_retryable_connect_error` failures are retried; the last one is re-raised.
    `sleep` replaces the wait for a synchronous caller inside the event loop (SQLAlchemy's
    connect hook).
    """
    # Imported on use: only PostgreSQL connects retry, and the import is 5-10 ms of a start.
    import tenacity

    def log_retry(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info("%s not reachable yet (%s); retrying", what, type(exc).__name__)

    extra: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    retry = tenacity.retry(
        stop=tenacity.stop_after_attempt(attempts),
        wait=_backoff,
        retry=tenacity.retry_if_exception(is_retryable_connect_error),
        before_sleep=log_retry,
        reraise=True,
        **extra,
    )
    return retry(connect)


async def connect(
    url: str, *, attempts: int = CONNECT_ATTEMPTS, **overrides: Any
) -> asyncpg.Connection:
    """One asyncpg connection, retried with backoff while the server is waking up."""
    import asyncpg  # loaded only when sync is on: ~60 ms of every start otherwise

    dsn, kwargs = asyncpg_connect_args(url)
    kwargs.update(overrides)
    return await retrying_connect(asyncpg.connect, attempts=attempts)(dsn, **kwargs)
