"""A sync space's URL and key in a real Secret Service (run inside dbus-run-session)."""

from __future__ import annotations

import pytest

from app.sync import settings as sync_settings
from tests.test_keyring_secretservice import secret_service, stored_items  # noqa: F401

pytestmark = [pytest.mark.keyring, pytest.mark.postgres]


async def test_space_secrets_go_to_the_keyring_not_a_file(secret_service, pg_database, client):  # noqa: F811
    settings = secret_service
    r = await client.post("/api/sync/setup", json={"url": pg_database})
    assert r.status_code == 200, r.text
    code = r.json()["code"]
    assert r.json()["secrets"] == "keyring"
    items = stored_items(settings)
    assert code in items.values() and pg_database in items.values()
    assert not (settings.data_dir / sync_settings.PLAINTEXT_SECRETS_FILE).exists()
    on_disk = "".join(
        p.read_text(errors="replace") for p in settings.data_dir.iterdir() if p.is_file()
    )
    assert code not in on_disk and pg_database not in on_disk
    assert sync_settings.load_sync_key(settings) == code
    assert sync_settings.load_sync_url(settings) == (pg_database, "keyring")
    status = (await client.get("/api/sync/status")).json()
    assert status["encrypted"] and code not in str(status)
    # Stop syncing here: both secrets leave the keyring.
    assert (await client.post("/api/sync/leave")).json()["enabled"] is False
    assert code not in stored_items(settings).values()
    assert sync_settings.load_sync_key(settings) is None
