"""GET /api/sync/status, POST /api/sync/run and `taskchat sync`, with a real PostgreSQL."""

from __future__ import annotations

import pytest

from app.cli import main as cli_main
from app.config import get_settings
from tests.pg import free_port


async def test_status_when_sync_is_off(client):
    status = (await client.get("/api/sync/status")).json()
    assert status["enabled"] is False and "no sync URL" in status["message"]
    r = await client.post("/api/sync/run")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


@pytest.fixture
def sync_url(pg_database, monkeypatch):
    monkeypatch.setenv("TASKCHAT_SYNC_URL", pg_database)
    get_settings.cache_clear()
    return pg_database


@pytest.mark.postgres
async def test_run_and_status_with_a_sync_database(sync_url, app, client):
    made = await client.post("/api/tasks", json={"title": "sync me"})
    assert made.status_code == 201
    status = (await client.post("/api/sync/run")).json()
    assert status["enabled"] and status["last_error"] is None
    assert status["last_success"] and status["pending_changes"] == 0
    assert "password" not in str(status) and status["target"].endswith(sync_url.rsplit("/")[-1])


@pytest.mark.postgres
def test_cli_sync_pushes_local_changes(sync_url, capsys):
    assert cli_main(["sync"]) == 0
    assert "Synced with" in capsys.readouterr().out


async def test_unreachable_sync_database_is_explained(monkeypatch, data_dir):
    monkeypatch.setenv("TASKCHAT_SYNC_URL", f"postgresql://u:secret-pw@127.0.0.1:{free_port()}/db")
    get_settings.cache_clear()
    from app.main import create_app

    application = create_app(get_settings())
    async with application.router.lifespan_context(application):
        service = application.state.sync
        with pytest.raises(OSError):
            await service.run_once()
        status = await service.get_status()
    assert "Could not reach the sync database at 127.0.0.1" in status["last_error"]
    assert "secret-pw" not in str(status)
