"""Runs the app under uvicorn on a socket we bind ourselves, so port 0 yields a real port."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import NoReturn

import uvicorn
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP (not 0) lets asyncio switch Nagle off on accepted connections; with proto 0
    # every small response on a kept-alive connection waited ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def launch_url(app: FastAPI, host: str, port: int) -> str:
    """The URL a person opens once: it carries a one-time launch token (see app/security)."""
    token = app.state.mint_launch_token()
    return f"http://{url_host(host)}:{port}/?launch={token}"


class Server(uvicorn.Server):
    """uvicorn server that reports when it is ready to answer, and lets the app end its
    long requests when a stop begins."""

    def __init__(
        self,
        config: uvicorn.Config,
        on_started: Callable[[], None],
        on_stopping: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(config)
        self._on_started = on_started
        self._on_stopping = on_stopping

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises SIGINT/SIGTERM after a graceful shutdown, which turns a clean
        # stop into exit status -15; a stop the person asked for is a success.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = [signal.SIGINT, signal.SIGTERM]
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._on_stopping is not None:
            try:
                await self._on_stopping()
            except Exception:  # the stop itself must go on
                log.exception("ending requests before the stop failed")
        await super().shutdown(sockets=sockets)


async def end_chat_streams(app: FastAPI) -> None:
    """Chat replies still streaming end as when their client goes away (each partial reply
    is stored), so that their requests are over within uvicorn's graceful wait. Left to
    it, a reply is cancelled at the end of that wait, and each is logged as an error
    ("Exception in ASGI application") on every window closed mid-reply."""
    chat = getattr(app.state, "chat_server", None)
    if chat is not None:
        await chat.close()


def build_server(
    settings: Settings,
    *,
    host: str,
    port: int,
    on_ready: Callable[[FastAPI, int], None],
    on_listening: Callable[[FastAPI, int], None] | None = None,
    graceful_shutdown: float = 3.0,
) -> tuple[Server, socket.socket, FastAPI]:
    """The app on a socket of its own. `on_listening` runs as soon as that socket listens,
    before the lifespan (database, migrations): a client may connect from then on, and
    its request waits in the socket's backlog until the server serves (`on_ready`)."""
    app = create_app(settings)
    sock = bind_socket(host, port)
    actual_port = sock.getsockname()[1]
    app.state.bound_host = host
    app.state.bound_port = actual_port
    if on_listening is not None:
        on_listening(app, actual_port)
    config = uvicorn.Config(
        app,
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
        # How long a stop waits for requests still running before it cancels them.
        # uvicorn hands it to asyncio.wait_for, which takes fractions of a second too.
        timeout_graceful_shutdown=graceful_shutdown,  # type: ignore[arg-type]
        # The UI streams over SSE; uvicorn must not buffer or time out idle keep-alives early.
        timeout_keep_alive=30,
        # No WebSocket routes: nothing to import (the `websockets` package) or to expose.
        ws="none",
    )
    server = Server(
        config,
        on_started=lambda: on_ready(app, actual_port),
        on_stopping=lambda: end_chat_streams(app),
    )
    return server, sock, app


def wait_for_go() -> bool:
    """Block until the parent writes one line on stdin; False when stdin closes first.

    The window starts its server before it knows whether it may: it is the first of its
    data folder only once it holds the single-instance lock. The child does its slow
    imports meanwhile, and touches the data folder only after this line.
    """
    stdin = sys.stdin.buffer if sys.stdin is not None else None
    try:
        return stdin is not None and stdin.readline().strip() == b"go"
    except (OSError, ValueError):
        return False


def stop_when_stdin_closes(server: uvicorn.Server) -> None:
    """Shut the server down gracefully once standard input reaches end-of-file.

    The desktop window starts its server this way: it closes the pipe to stop it, and the
    OS closes the pipe when the window process dies, however it dies, so a server never
    outlives its window.
    """
    stdin = sys.stdin.buffer if sys.stdin is not None else None

    def watch() -> None:
        with contextlib.suppress(OSError, ValueError):
            while stdin is not None and stdin.read(4096):
                pass
        log.info("standard input closed: stopping the server")
        server.should_exit = True

    threading.Thread(target=watch, name="taskchat-stdin-watch", daemon=True).start()


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    stdin_control: bool = False,
    on_started: Callable[[], None] | None = None,
) -> int:
    """Run the server until SIGTERM/SIGINT; with `stdin_control`, as the window's child:
    start after a `go` line on stdin, stop when stdin closes, and print a `listening at`
    line (the same launch URL) as soon as the socket listens, before the `running at`
    one. `on_started` runs once it answers (the CLI passes app/boot.py's `started`)."""

    early: list[str] = []

    def listening(app: FastAPI, actual_port: int) -> None:
        # The window's child: the window may load this URL at once, before the lifespan
        # (its request waits in the socket's backlog); see app/desktop/server_process.py.
        early.append(launch_url(app, host, actual_port))
        print(f"TaskChat listening at {early[0]}", flush=True)

    def announce(app: FastAPI, actual_port: int) -> None:
        url = early[0] if early else launch_url(app, host, actual_port)
        print(f"TaskChat running at {url}", flush=True)
        if on_started is not None:
            on_started()

    if stdin_control and not wait_for_go():
        return 0  # the window did not need this server after all
    # The window gives its server 3 s to stop (app/desktop/server_process.py), and a
    # person who closed the window waits for no request: those still running (a reply
    # streaming, the first chat request waiting for the chat import) are cancelled after
    # 0.5 s; a cancelled reply still saves what it said (TaskChatServer).
    server, sock, _app = build_server(
        settings,
        host=host,
        port=port,
        on_ready=announce,
        on_listening=listening if stdin_control else None,
        graceful_shutdown=0.5 if stdin_control else 3.0,
    )
    if stdin_control:
        stop_when_stdin_closes(server)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()
    return 0 if server.started else 1


def exit_now(code: int) -> NoReturn:
    """End the process at once, skipping the interpreter's teardown.

    For a server that has shut down cleanly (the lifespan closed the database, so SQLite's
    WAL is checkpointed): tearing down an interpreter with ChatKit, the Agents SDK and
    their thousands of pydantic models loaded takes another second, which the window
    would wait for on every close.
    """
    logging.shutdown()  # flush and close the log files
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def eprint(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)
