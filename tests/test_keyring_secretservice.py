"""The Gemini key and the signing secret in a REAL Secret Service (gnome-keyring over D-Bus).

`make test` runs pytest inside `dbus-run-session` with an unlocked gnome-keyring, so these
run in CI. They skip only when there is no D-Bus session bus at all. Every entry is
scoped to the test's own data folder (install id), and removed afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import keyring
import pytest
from keyring.backends import SecretService, null

from app.config import Settings
from app.security import keystore
from app.security.keyrings import SERVICE, choose_keyring

pytestmark = pytest.mark.keyring

KEY = "AIza" + "SyKEYRING-0123456789abcdefghijklmnopqrs"[:35]
ROOT = Path(__file__).resolve().parent.parent


def _bus_available() -> bool:
    return bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS"))


def stored_items(settings: Settings) -> dict[str, str]:
    """What the Secret Service holds for this install, read with secretstorage directly
    (not through TaskChat's code): username -> secret."""
    import secretstorage

    suffix = keystore.install_id(settings)
    found: dict[str, str] = {}
    with closing(secretstorage.dbus_init()) as bus:
        collection = secretstorage.get_default_collection(bus)
        for item in collection.search_items({"service": SERVICE}):
            username = item.get_attributes().get("username", "")
            if username.endswith(suffix):
                found[username] = item.get_secret().decode()
    return found


@pytest.fixture
def secret_service(settings: Settings, monkeypatch) -> Iterator[Settings]:
    if not _bus_available():
        pytest.skip(
            "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset): run the suite with "
            "`make test`, which starts dbus-run-session and an unlocked gnome-keyring"
        )
    monkeypatch.setenv("TASKCHAT_KEYRING_BACKEND", "secretservice")
    yield settings
    backend = SecretService.Keyring()
    for username in stored_items(settings):
        backend.delete_password(SERVICE, username)


def test_secret_service_is_chosen_and_viable(secret_service, monkeypatch):
    choice = choose_keyring()
    assert choice.viable, choice.reason
    assert isinstance(choice.backend, SecretService.Keyring)
    # With no override, Linux picks the Secret Service too.
    monkeypatch.delenv("TASKCHAT_KEYRING_BACKEND")
    if sys.platform.startswith("linux"):
        assert choose_keyring().name == "secretservice"


async def test_key_round_trip_through_the_api(secret_service, client):
    settings = secret_service
    r = await client.get("/api/settings")
    assert r.json()["keyring"]["available"] is True
    assert r.json()["keyring"]["backend"] == "secretservice"

    r = await client.put("/api/settings/gemini-key", json={"api_key": KEY})
    assert r.status_code == 200, r.text
    assert r.json()["gemini_key"] == {"set": True, "last4": KEY[-4:], "source": "keyring"}
    assert KEY not in r.text

    items = stored_items(settings)
    assert items[f"gemini-api-key:{keystore.install_id(settings)}"] == KEY
    assert keystore.load_gemini_key(settings) == KEY
    # Nothing in the data folder holds the key.
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path

    r = await client.delete("/api/settings/gemini-key")
    assert r.status_code == 200
    assert r.json()["gemini_key"]["set"] is False
    assert f"gemini-api-key:{keystore.install_id(settings)}" not in stored_items(settings)
    assert keystore.load_gemini_key(settings) is None


async def test_keyring_store_removes_an_old_plaintext_file(secret_service, client, monkeypatch):
    settings = secret_service
    monkeypatch.setenv("TASKCHAT_KEYRING_BACKEND", "fail")
    r = await client.put(
        "/api/settings/gemini-key", json={"api_key": KEY, "allow_plaintext_file": True}
    )
    assert r.json()["gemini_key"]["source"] == "file"
    monkeypatch.setenv("TASKCHAT_KEYRING_BACKEND", "secretservice")
    # allow_plaintext_file only allows the file when the keyring is unusable.
    r = await client.put(
        "/api/settings/gemini-key", json={"api_key": KEY, "allow_plaintext_file": True}
    )
    assert r.json()["gemini_key"]["source"] == "keyring"
    assert not keystore.plaintext_key_path(settings).exists()


def test_signing_secret_lives_in_the_keyring(secret_service):
    from app.main import create_app

    settings = secret_service
    app = create_app(settings)
    token = app.state.mint_session_token()
    assert not (settings.data_dir / keystore.SIGNING_SECRET_FILE).exists()
    assert f"session-signing-secret:{keystore.install_id(settings)}" in stored_items(settings)
    # The same install (a restart) verifies the token; the secret is stable.
    again = create_app(settings)
    assert again.state.sessions.verify_session(token).user_id == app.state.local_user_id


def test_signing_secret_is_read_off_the_start_up_path(secret_service):
    """Creating the app asks the Secret Service nothing (a D-Bus round trip the window
    would wait for); the lifespan's warm-up thread creates and stores the secret."""
    from app.main import create_app

    settings = secret_service
    item = f"session-signing-secret:{keystore.install_id(settings)}"
    app = create_app(settings)
    assert item not in stored_items(settings)
    app.state.sessions.warm_up()
    deadline = time.monotonic() + 20  # a hang guard, not a timing check
    while item not in stored_items(settings):
        assert time.monotonic() < deadline, "the warm-up never stored the signing secret"
        time.sleep(0.05)
    assert not (settings.data_dir / keystore.SIGNING_SECRET_FILE).exists()


def test_keyrings_default_backend_is_ignored(secret_service):
    """keyring's global choice (what installing keyrings.alt would change) has no effect."""
    previous = keyring.get_keyring()
    keyring.set_keyring(null.Keyring())  # a backend that silently drops everything
    try:
        assert keystore.store_gemini_key(secret_service, KEY) == "keyring"
        assert keystore.load_gemini_key(secret_service) == KEY
    finally:
        keyring.set_keyring(previous)
    assert stored_items(secret_service)


def test_two_installs_do_not_share_a_key(secret_service, tmp_path, monkeypatch):
    keystore.store_gemini_key(secret_service, KEY)
    monkeypatch.setenv("TASKCHAT_DATA_DIR", str(tmp_path / "other"))
    other = Settings()
    assert keystore.load_gemini_key(other) is None


def cli(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GEMINI_API_KEY"}
    env.update(
        {"TASKCHAT_DATA_DIR": str(settings.data_dir), "TASKCHAT_KEYRING_BACKEND": "secretservice"}
    )
    return subprocess.run(
        [sys.executable, "-m", "app", "key", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_set_status_clear_with_the_real_keyring(secret_service):
    settings = secret_service
    # This test is about the keyring; the Gemini check has its own (test_security_cli.py).
    r = cli(settings, "set", "--no-check", stdin=KEY + "\n")
    assert r.returncode == 0, r.stderr
    assert "in the keyring (secretservice)" in r.stdout
    assert KEY not in r.stdout + r.stderr
    assert KEY in stored_items(settings).values()

    r = cli(settings, "status")
    assert f"ending {KEY[-4:]}, from the OS keyring (secretservice)" in r.stdout
    assert "Keyring: available" in r.stdout

    r = cli(settings, "clear")
    assert r.returncode == 0
    assert KEY not in stored_items(settings).values()


def test_sync_url_in_the_real_keyring_and_starts_that_skip_it(secret_service):
    """`sync --set-url` keeps the URL (a password) in the keyring and only a yes/no in
    sync.json; a start asks the keyring only when that says yes (or says nothing yet)."""
    from app.sync import settings as sync_settings

    settings = secret_service
    url = "postgresql://tc:sync-pw-123@db.example.neon.tech/tasks"
    item = f"sync-url:{keystore.install_id(settings)}"
    state = settings.data_dir / sync_settings.SYNC_STATE_FILE
    # A new profile (install_id created it) has nothing in the keyring to ask about.
    assert json.loads(state.read_text(encoding="utf-8")) == {"url_in_keyring": False}
    env = {k: v for k, v in os.environ.items() if k != "TASKCHAT_SYNC_URL"}
    env.update(TASKCHAT_DATA_DIR=str(settings.data_dir), TASKCHAT_KEYRING_BACKEND="secretservice")
    r = subprocess.run(
        [sys.executable, "-m", "app", "sync", "--set-url"],
        input=url + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert stored_items(settings)[item] == url
    assert "sync-pw-123" not in state.read_text(encoding="utf-8") + r.stdout + r.stderr
    assert sync_settings.load_sync_url(settings) == (url, "keyring")

    sync_settings.clear_sync_url(settings)
    assert item not in stored_items(settings)
    assert sync_settings.load_sync_url(settings) == (None, None)
    # Put back behind TaskChat's back: starts no longer look (sync.json says no) ...
    SecretService.Keyring().set_password(SERVICE, item, url)
    assert sync_settings.load_sync_url(settings) == (None, None)
    # ... while an install from before sync.json asks once and remembers the answer.
    state.unlink()
    assert sync_settings.load_sync_url(settings) == (url, "keyring")
    assert json.loads(state.read_text(encoding="utf-8")) == {"url_in_keyring": True}


_LOCK = "import secretstorage as s; s.get_default_collection(s.dbus_init()).lock()"
_LOCKED_SCRIPT = textwrap.dedent(
    """
    echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    "$PY" -c "$LOCK"
    echo "$KEY" | "$PY" -m app key set --no-check; echo "rc=$?"
    "$PY" -m app key status
    echo "$KEY" | "$PY" -m app key set --plaintext-file --no-check; echo "rc=$?"
    """
)


def test_locked_keyring_is_reported_never_silently_bypassed(secret_service):
    """A locked collection whose unlock prompt cannot be shown (no display), in a private
    D-Bus session so the suite's own keyring stays unlocked."""
    if not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")):
        pytest.skip("dbus-run-session/gnome-keyring-daemon not installed (scripts/setup.sh --test)")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "GEMINI_API_KEY")
    }
    env.update(
        {
            "PY": sys.executable,
            "KEY": KEY,
            "LOCK": _LOCK,
            "TASKCHAT_DATA_DIR": str(secret_service.data_dir),
            "TASKCHAT_KEYRING_BACKEND": "secretservice",
        }
    )
    r = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", _LOCKED_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    out = r.stdout + r.stderr
    assert "locked" in out, out
    assert "NOT saved" in out, out
    assert "rc=3" in out, out
    assert "Keyring: NOT available (secretservice)" in out, out
    assert "STORED UNENCRYPTED" in out, out  # only after the explicit --plaintext-file
    assert "rc=0" in out, out
    assert KEY not in r.stdout
    assert KEY not in r.stderr
