"""A real PostgreSQL (and PgBouncer) for the test suite, started once per session.

Finds the server binaries (TASKCHAT_PG_BINDIR, `pg_config --bindir`, Debian's
/usr/lib/postgresql/<v>/bin, or PATH). initdb refuses to run as root, so as root the
cluster is created and run as the `postgres` system user (via runuser). Each test gets
its own database, cloned from a migrated template database (fast: a file copy).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

SUPERUSER = "postgres"


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_pg_bindir() -> Path | None:
    candidates: list[str] = []
    if os.environ.get("TASKCHAT_PG_BINDIR"):
        candidates.append(os.environ["TASKCHAT_PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            )
            candidates.append(out.stdout.strip())
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    candidates.extend(versions)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(os.path.realpath(initdb)).parent))
    for cand in candidates:
        path = Path(cand)
        if (path / "initdb").exists() and (path / "postgres").exists():
            return path
    return None


def _runner() -> tuple[list[str], int | None, int | None]:
    """(command prefix, uid, gid) to run server binaries as a non-root user."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        pw = pwd.getpwnam(SUPERUSER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SUPERUSER],
            check=True,
        )
        pw = pwd.getpwnam(SUPERUSER)
    runuser = shutil.which("runuser")
    prefix = (
        [runuser, "-u", SUPERUSER, "--"] if runuser else ["su", SUPERUSER, "-s", "/bin/sh", "-c"]
    )
    return prefix, pw.pw_uid, pw.pw_gid


def _chown(path: Path, uid: int | None, gid: int | None) -> None:
    if uid is not None:
        os.chown(path, uid, gid or -1)


@dataclass
class PgServer:
    bindir: Path
    root: Path
    port: int
    host: str = "127.0.0.1"
    _template: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def url(self, database: str, *, port: int | None = None) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{port or self.port}/{database}"

    async def admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url("postgres"))

    def create_database(self, *, template: str | None = None, prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"

        async def go() -> None:
            conn = await self.admin()
            try:
                tmpl = f" TEMPLATE {template}" if template else ""
                await conn.execute(f'CREATE DATABASE "{name}"{tmpl}')
            finally:
                await conn.close()

        run_sync(go())
        return name

    def drop_database(self, name: str) -> None:
        async def go() -> None:
            conn = await self.admin()
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        run_sync(go())

    def migrated_template(self) -> str:
        """A database migrated to head, used as the template for per-test databases."""
        with self._lock:
            if self._template is None:
                from app.config import Settings
                from app.db import migrate
                from app.db.engine import create_engine

                name = self.create_database(prefix="tmpl")

                async def go() -> None:
                    engine = create_engine(
                        Settings(data_dir=self.root / "tmpl-data", database_url=self.url(name))
                    )
                    try:
                        await migrate.upgrade(engine)
                    finally:
                        await engine.dispose()

                run_sync(go())
                self._template = name
            return self._template

    def fresh_migrated_database(self) -> str:
        return self.create_database(template=self.migrated_template())


def start_postgres() -> PgServer | None:
    """Start a throwaway cluster; None when no PostgreSQL binaries are installed."""
    bindir = find_pg_bindir()
    if bindir is None:
        return None
    prefix, uid, gid = _runner()
    root = Path(tempfile.mkdtemp(prefix="taskchat-pg-"))
    os.chmod(root, 0o755)
    datadir, sockdir = root / "data", root / "sock"
    for d in (datadir, sockdir):
        d.mkdir()
        _chown(d, uid, gid)
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    opts = (
        f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
        "-c shared_buffers=64MB"
    )
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-o",
            opts,
            "-l",
            str(datadir / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    return PgServer(bindir=bindir, root=root, port=port)


def stop_postgres(server: PgServer) -> None:
    prefix, _uid, _gid = _runner()
    subprocess.run(
        [
            *prefix,
            str(server.bindir / "pg_ctl"),
            "-D",
            str(server.root / "data"),
            "-m",
            "immediate",
            "stop",
        ],
        capture_output=True,
    )
    shutil.rmtree(server.root, ignore_errors=True)


@dataclass
class PgBouncer:
    port: int
    process: subprocess.Popen[bytes]
    root: Path

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"


def find_pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
    )


def start_pgbouncer(server: PgServer) -> PgBouncer | None:
    """PgBouncer in transaction mode in front of `server` (like Neon's -pooler hosts)."""
    binary = find_pgbouncer()
    if binary is None:
        return None
    prefix, uid, gid = _runner()
    root = Path(tempfile.mkdtemp(prefix="taskchat-pgb-"))
    os.chmod(root, 0o755)
    port = free_port()
    (root / "users.txt").write_text(f'"{SUPERUSER}" ""\n')
    (root / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host=127.0.0.1 port={server.port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        f"unix_socket_dir = {root}\n"
        "auth_type = trust\n"
        f"auth_file = {root / 'users.txt'}\n"
        "pool_mode = transaction\n"
        "default_pool_size = 4\nmax_client_conn = 500\n"
        # After a failed server login (PostgreSQL restarting) PgBouncer waits this long
        # before it tries again (15 s by default: most of a fault-suite PostgreSQL restart).
        "server_login_retry = 1\n"
        "ignore_startup_parameters = extra_float_digits,statement_timeout\n"
        f"logfile = {root / 'pgbouncer.log'}\n"
    )
    for p in root.iterdir():
        _chown(p, uid, gid)
    _chown(root, uid, gid)
    process = subprocess.Popen(
        [*prefix, binary, str(root / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return PgBouncer(port=port, process=process, root=root)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"pgbouncer did not start; see {root / 'pgbouncer.log'}")


def stop_pgbouncer(bouncer: PgBouncer) -> None:
    bouncer.process.terminate()
    try:
        bouncer.process.wait(5)
    except subprocess.TimeoutExpired:
        bouncer.process.kill()
    shutil.rmtree(bouncer.root, ignore_errors=True)
