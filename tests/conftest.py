"""Shared fixtures: a private data folder per test, the app, an HTTP client, a live server."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, get_settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.main import create_app

# Chat fixtures (app_env, gemini, chat, db) for every test module that asks for them.
pytest_plugins = ["tests.fakes.chatkit"]

# Variables a developer's shell may carry that must not leak into a test.
_ISOLATED_ENV = (
    "TASKCHAT_DATABASE_URL",
    "TASKCHAT_SYNC_URL",
    "GEMINI_API_KEY",
    "GEMINI_BASE_URL",
    "GEMINI_MODEL",
    "TASKCHAT_TIMEZONE",
    "TASKCHAT_WEBUI_DIR",
    "TASKCHAT_KEYRING_BACKEND",
)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own TASKCHAT_DATA_DIR and a fresh settings cache."""
    path = tmp_path / "data"
    for name in _ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TASKCHAT_DATA_DIR", str(path))
    # No test touches a real keyring unless it asks for one (tests/test_keyring_*.py set
    # TASKCHAT_KEYRING_BACKEND=secretservice); keyring's real `fail` backend otherwise.
    monkeypatch.setenv("TASKCHAT_KEYRING_BACKEND", "fail")
    # No test asks the real release feed (tests/test_updates.py points it at a fake one).
    monkeypatch.setenv("TASKCHAT_UPDATE_CHECK", "0")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


# --------------------------------------------------------------------- PostgreSQL
# Storage tests (every test that uses `db_session`) run on SQLite and on a real
# PostgreSQL started once per session (tests/pg.py). Other tests stay on SQLite.


@pytest.fixture(scope="session")
def pg_server():
    from tests import pg

    server = pg.start_postgres()
    if server is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests, but no server binaries were found")
        pytest.skip(
            "no PostgreSQL server binaries found (install Debian's `postgresql`, see "
            "scripts/setup.sh --test, or set TASKCHAT_PG_BINDIR)"
        )
    yield server
    pg.stop_postgres(server)


@pytest.fixture(scope="session")
def pgbouncer(pg_server):
    from tests import pg

    bouncer = pg.start_pgbouncer(pg_server)
    if bouncer is None:
        pytest.skip("pgbouncer is not installed (scripts/setup.sh --test installs it)")
    yield bouncer
    pg.stop_pgbouncer(bouncer)


@pytest.fixture
def pg_database(pg_server) -> Iterator[str]:
    """URL of a fresh, empty database of its own."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def pg_migrated_database(pg_server) -> Iterator[str]:
    """URL of a fresh database already migrated to head."""
    name = pg_server.fresh_migrated_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_session" in metafunc.fixturenames and "storage" in metafunc.fixturenames:
        metafunc.parametrize("storage", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def storage(request: pytest.FixtureRequest, data_dir: Path, monkeypatch) -> str:
    """Which engine `settings` points at: "sqlite" (default) or "postgres"."""
    kind = getattr(request, "param", "sqlite")
    if kind == "postgres":
        url = request.getfixturevalue("pg_migrated_database")
        monkeypatch.setenv("TASKCHAT_DATABASE_URL", url)
        get_settings.cache_clear()
    return kind


@pytest.fixture
def settings(data_dir: Path, storage: str) -> Settings:
    return get_settings()


@pytest.fixture
async def db_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on a migrated database in the test's data folder."""
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    async with create_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def auth_headers(app: FastAPI, user_id: str | None = None) -> dict[str, str]:
    """Headers carrying a valid session for `user_id` (default: the local profile)."""
    mint = getattr(app.state, "mint_session_token", None)
    if mint is None:  # sessions not enforced yet
        return {}
    return {"Authorization": f"Bearer {mint(user_id or app.state.local_user_id)}"}


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """In-process client (no network) for REST tests, signed in as the local user."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", headers=auth_headers(app)
    ) as c:
        yield c


@dataclass
class LiveServer:
    app: FastAPI
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def headers(self, user_id: str | None = None) -> dict[str, str]:
        """Session headers for requests to this server (pass them on every call)."""
        return auth_headers(self.app, user_id)

    def client(self, user_id: str | None = None, **kwargs) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.headers(user_id), **kwargs)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The real app under uvicorn on a free loopback port, in a background thread."""
    from app.server import build_server

    ready = threading.Event()
    server, sock, application = build_server(
        settings, host="127.0.0.1", port=0, on_ready=lambda _app, _port: ready.set()
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    if not ready.wait(15):
        raise RuntimeError("live server did not start")
    try:
        yield LiveServer(app=application, host="127.0.0.1", port=sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
