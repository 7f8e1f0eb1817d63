"""One TaskChat window per data folder.

The first window process takes an OS lock on `<data dir>/taskchat.lock` (flock on POSIX,
msvcrt on Windows) and holds it for its whole life; the OS drops the lock when the process
dies, however it dies, so a lock left by a crashed process is never mistaken for a live
one. Next to it, `<data dir>/instance.json` (0600, in the 0700 data folder) says where the
running instance listens: its server port, the port of a tiny loopback "focus" listener,
and a random token. A second launch that cannot take the lock sends
`TASKCHAT-FOCUS <token>` to that listener, which brings the running window to the front,
and exits instead of starting a second server on the same database.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from app.fileio import write_private_text

log = logging.getLogger(__name__)

LOCK_NAME = "taskchat.lock"
INFO_NAME = "instance.json"
_MAGIC = b"TASKCHAT-FOCUS "
_MAX_LINE = 256


class AlreadyRunning(Exception):
    """Another live process holds the lock for this data folder."""

    def __init__(self, info: InstanceInfo | None) -> None:
        super().__init__("TaskChat is already running for this data folder")
        self.info = info


@dataclass(frozen=True)
class InstanceInfo:
    pid: int
    port: int
    focus_port: int
    token: str


# ----------------------------------------------------------------------------- OS locks
def _try_lock(fh: IO[bytes]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import msvcrt  # a Windows-only module

        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    # POSIX only (msvcrt above on Windows)
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlock(fh: IO[bytes]) -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import msvcrt  # a Windows-only module

        with contextlib.suppress(OSError):
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        return
    # POSIX only (msvcrt above on Windows)
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def read_info(data_dir: Path) -> InstanceInfo | None:
    try:
        raw = json.loads((data_dir / INFO_NAME).read_text(encoding="utf-8"))
        return InstanceInfo(
            pid=int(raw["pid"]),
            port=int(raw["port"]),
            focus_port=int(raw["focus_port"]),
            token=str(raw["token"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


# ------------------------------------------------------------------------ the instance
class SingleInstance:
    """Holds the data folder's lock and answers focus requests while the app runs."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.token = secrets.token_urlsafe(32)
        self._fh: IO[bytes] | None = None
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._on_focus: Callable[[], None] | None = None
        self._stopping = threading.Event()
        self.focus_requests = 0

    # -- lock ---------------------------------------------------------------------------
    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunning (with the running instance's info)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / LOCK_NAME
        fh = open(path, "a+b")  # held open (and locked) for the process's life
        if not _try_lock(fh):
            fh.close()
            raise AlreadyRunning(read_info(self.data_dir))
        stale = read_info(self.data_dir)
        if stale is not None:
            log.info(
                "found a stale instance file from pid %s (not running): replacing it", stale.pid
            )
            with contextlib.suppress(OSError):
                (self.data_dir / INFO_NAME).unlink()
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n".encode())
        fh.flush()
        self._fh = fh

    def publish(self, port: int, on_focus: Callable[[], None]) -> InstanceInfo:
        """Start the focus listener and write instance.json for later launches."""
        if self._fh is None:
            raise RuntimeError("acquire() first")
        self._on_focus = on_focus
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.5)
        self._listener = listener
        info = InstanceInfo(
            pid=os.getpid(), port=port, focus_port=listener.getsockname()[1], token=self.token
        )
        write_private_text(self.data_dir / INFO_NAME, json.dumps(asdict(info)))
        self._thread = threading.Thread(target=self._serve, name="taskchat-focus", daemon=True)
        self._thread.start()
        return info

    def release(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        if self._thread is not None:
            self._thread.join(2)
        if self._fh is not None:
            info = read_info(self.data_dir)
            if info is not None and info.pid == os.getpid():
                with contextlib.suppress(OSError):
                    (self.data_dir / INFO_NAME).unlink()
            _unlock(self._fh)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> SingleInstance:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- focus listener -----------------------------------------------------------------
    def _serve(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                conn, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        data = b""
        try:
            while b"\n" not in data and len(data) < _MAX_LINE:
                chunk = conn.recv(_MAX_LINE)
                if not chunk:
                    break
                data += chunk
        except OSError:
            return
        line = data.split(b"\n", 1)[0]
        token = line[len(_MAGIC) :] if line.startswith(_MAGIC) else b""
        if not token or not hmac.compare_digest(token, self.token.encode()):
            log.warning("refused a focus request without the right token")
            with contextlib.suppress(OSError):
                conn.sendall(b"NO\n")
            return
        self.focus_requests += 1
        log.info("another launch asked this window to come to the front")
        try:
            if self._on_focus is not None:
                self._on_focus()
        except Exception:
            log.exception("bringing the window to the front failed")
        with contextlib.suppress(OSError):
            conn.sendall(b"OK\n")


def request_focus(info: InstanceInfo, timeout: float = 3.0) -> bool:
    """Ask the running instance to show its window. True when it said OK."""
    try:
        with socket.create_connection(("127.0.0.1", info.focus_port), timeout=timeout) as conn:
            conn.sendall(_MAGIC + info.token.encode() + b"\n")
            conn.settimeout(timeout)
            return conn.recv(16).startswith(b"OK")
    except OSError:
        return False


def focus_running_instance(data_dir: Path, wait: float = 30.0) -> bool:
    """For a second launch: find the running instance and bring its window up.

    The first instance may still be starting (lock taken, instance.json not yet written),
    so this waits up to `wait` seconds for it to publish.
    """
    deadline = time.monotonic() + wait
    while True:
        info = read_info(data_dir)
        if info is not None and request_focus(info):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
