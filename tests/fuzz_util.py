"""Shared pieces of the fuzz suites: a /api/health watcher and the stored-data checks."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.sync import local

HEALTH_BUDGET_S = 1.0
_URL_LINE = re.compile(r"^TaskChat running at (http://127\.0\.0\.1:\d+)/\?launch=(\S+)$")


@contextmanager
def served(data_dir: Path, **env: str) -> Iterator[tuple[str, dict[str, str]]]:
    """`python -m app serve` in its own process (so the fuzzer's own work does not share a
    GIL with the server it measures): (base URL, session cookie header)."""
    full_env = {
        **os.environ,
        "TASKCHAT_DATA_DIR": str(data_dir),
        "TASKCHAT_LOG_LEVEL": "WARNING",
        "TASKCHAT_KEYRING_BACKEND": "fail",
        "GEMINI_API_KEY": "fuzz-key",
        **env,
    }
    for name in ("TASKCHAT_DATABASE_URL", "TASKCHAT_SYNC_URL"):
        full_env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=full_env,
    )
    try:
        line = proc.stdout.readline().strip()  # type: ignore[union-attr]
        match = _URL_LINE.match(line)
        assert match, f"serve printed {line!r}"
        with httpx.Client() as c:
            assert c.get(line.split(" at ", 1)[1]).status_code == 303
            cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
        yield match.group(1), {"Cookie": cookie}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


class HealthWatch:
    """Asks /api/health every 100 ms from its own thread while a fuzz suite runs."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.worst = 0.0
        self.worst_at = 0.0
        self.failures: list[str] = []
        self.calls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    status = client.get("/api/health").status_code
                except httpx.HTTPError as exc:
                    status = f"{type(exc).__name__}"  # type: ignore[assignment]
                took = time.perf_counter() - started
                self.calls += 1
                if took > self.worst:
                    self.worst, self.worst_at = took, started
                if status != 200:
                    self.failures.append(str(status))
                self._stop.wait(0.1)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)

    def check(self) -> None:
        assert self.calls > 0
        assert not self.failures, self.failures[:5]
        assert self.worst < HEALTH_BUDGET_S, f"/api/health took {self.worst:.2f} s"


ENTITY_COLUMNS = {entity: fields for entity, fields in local.SYNCED.items()}


def stored_rows(db_path: Path, user_id: str | None = None) -> dict[str, dict[str, tuple]]:
    """Every synced table's rows (optionally one user's), as SQLite stores them."""
    out: dict[str, dict[str, tuple]] = {}
    with sqlite3.connect(db_path) as conn:
        for entity, fields in ENTITY_COLUMNS.items():
            cols = ", ".join(f'"{f}"' for f in fields)
            sql = f"SELECT id, user_id, {cols} FROM {entity}"
            params: tuple = ()
            if user_id is not None:
                sql += " WHERE user_id = ?"
                params = (user_id,)
            out[entity] = {r[0]: r[1:] for r in conn.execute(sql, params)}
    return out


def assert_every_row_acceptable(db_path: Path) -> None:
    """No stored task, thread or item that the app's own checks would refuse."""
    for entity, rows in stored_rows(db_path).items():
        fields = ENTITY_COLUMNS[entity]
        for row_id, (_user, *values) in rows.items():
            problem = local.row_problem(entity, row_id, dict(zip(fields, values, strict=True)))
            assert problem is None, (entity, row_id, problem)


OTHER = "someone-else"


def seed_other_profile(db_path: Path) -> None:
    """Rows of another profile in the same file (ids a hostile input might aim at)."""
    stamp = "2026-11-01 10:00:00.000000"
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO task (id, user_id, title, description, priority, completed, "
            "due_all_day, tags, created_at, updated_at) VALUES "
            "('other-1', ?, 'Theirs', '', 'none', 0, 0, '[]', ?, ?)",
            (OTHER, stamp, stamp),
        )
        conn.execute(
            "INSERT INTO chat_thread (id, user_id, title, status, metadata, created_at, "
            "updated_at) VALUES ('thr_other', ?, 'Theirs', '{}', '{}', ?, ?)",
            (OTHER, stamp, stamp),
        )
