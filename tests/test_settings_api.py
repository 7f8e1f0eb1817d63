"""Settings API with no OS keyring (keyring's real `fail` backend, set by conftest)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from app.config import Settings

KEY = "AIza" + "SyD-test0123456789abcdefghijklmnopq"[:35]  # AIza + 35, like a real key
assert len(KEY) == 39


async def test_get_settings_shape(client, settings: Settings):
    r = await client.get("/api/settings")
    assert r.status_code == 200
    body = r.json()
    assert body == {
        "gemini_key": {"set": False, "last4": None, "source": None},
        "keyring": {
            "available": False,
            "backend": "fail",
            "message": body["keyring"]["message"],
        },
        "model": settings.gemini_model,
        "timezone": settings.timezone,
        "data_dir": str(settings.data_dir),
        "daily_message_cap": 200,
    }
    assert "keyring" in body["keyring"]["message"].lower()


async def test_put_settings_updates_model_timezone_and_cap(client, settings: Settings):
    r = await client.put(
        "/api/settings",
        json={"model": "gemini-2.5-pro", "timezone": "Europe/Berlin", "daily_message_cap": 50},
    )
    assert r.status_code == 200
    assert r.json()["model"] == "gemini-2.5-pro"
    assert r.json()["timezone"] == "Europe/Berlin"
    assert r.json()["daily_message_cap"] == 50
    saved = json.loads((settings.data_dir / "config.json").read_text())
    assert saved == {
        "gemini_model": "gemini-2.5-pro",
        "timezone": "Europe/Berlin",
        "daily_message_cap": 50,
    }
    # The running app uses the new values at once, and a new process reads them.
    assert settings.gemini_model == "gemini-2.5-pro"
    assert Settings().timezone == "Europe/Berlin"
    assert (await client.get("/api/settings")).json()["model"] == "gemini-2.5-pro"


@pytest.mark.parametrize(
    "body",
    [
        {"timezone": "Mars/Olympus"},
        {"model": "bad model name"},
        {"model": ""},
        {"daily_message_cap": 0},
        {"gemini_api_key": KEY},  # secrets never go through this route
        {"data_dir": "/tmp/elsewhere"},
    ],
)
async def test_put_settings_rejects_bad_values(client, body):
    r = await client.put("/api/settings", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"
    assert KEY not in r.text


async def test_empty_timezone_means_os_zone(client):
    r = await client.put("/api/settings", json={"timezone": ""})
    assert r.status_code == 200
    assert r.json()["timezone"] == ""


async def test_no_keyring_refuses_without_explicit_choice(client, settings: Settings):
    r = await client.put("/api/settings/gemini-key", json={"api_key": KEY})
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "keyring_unavailable"
    assert "NOT saved" in error["message"]
    assert "unencrypted" in error["message"]
    assert "allow_plaintext_file" in error["message"]
    assert KEY not in r.text
    # Nothing was written anywhere, and the key is still not set.
    assert not any(
        KEY.encode() in p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file()
    )
    assert (await client.get("/api/settings")).json()["gemini_key"]["set"] is False


async def test_plaintext_file_when_chosen(client, settings: Settings):
    r = await client.put(
        "/api/settings/gemini-key", json={"api_key": f"  {KEY}\n", "allow_plaintext_file": True}
    )
    assert r.status_code == 200
    assert r.json()["gemini_key"] == {"set": True, "last4": KEY[-4:], "source": "file"}
    assert KEY not in r.text
    path = settings.data_dir / "gemini-api-key.UNENCRYPTED.txt"
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert "STORED UNENCRYPTED" in text
    assert text.strip().endswith(KEY)

    from app.security.keystore import load_gemini_key

    assert load_gemini_key(settings) == KEY

    r = await client.delete("/api/settings/gemini-key")
    assert r.status_code == 200
    assert r.json()["gemini_key"] == {"set": False, "last4": None, "source": None}
    assert not path.exists()
    assert load_gemini_key(settings) is None


async def test_a_plaintext_key_edited_by_hand_is_read_again(client, settings: Settings):
    """The key kept in memory between chat turns is dropped once its file changes."""
    from app.security.keystore import load_gemini_key, plaintext_key_path

    await client.put(
        "/api/settings/gemini-key", json={"api_key": KEY, "allow_plaintext_file": True}
    )
    assert load_gemini_key(settings) == KEY
    edited = KEY[:-4] + "EDITED"  # another length: the size alone shows the change
    path = plaintext_key_path(settings)
    path.write_text(path.read_text().replace(KEY, edited))
    assert load_gemini_key(settings) == edited
    path.unlink()
    assert load_gemini_key(settings) is None


async def test_environment_key_wins(client, settings: Settings, monkeypatch):
    await client.put(
        "/api/settings/gemini-key", json={"api_key": KEY, "allow_plaintext_file": True}
    )
    env_key = "AIza" + "SyENV-0123456789abcdefghijklmnopqrst"[:35]
    monkeypatch.setenv("GEMINI_API_KEY", env_key)
    from app.security.keystore import load_gemini_key

    assert load_gemini_key(Settings()) == env_key
    settings.gemini_api_key = Settings().gemini_api_key  # the running app's view
    body = (await client.get("/api/settings")).json()
    assert body["gemini_key"] == {"set": True, "last4": env_key[-4:], "source": "env"}
    assert env_key not in json.dumps(body)


@pytest.mark.parametrize(
    "body",
    [
        {"api_key": ""},
        {"api_key": "   "},
        {"api_key": "two words"},
        {"api_key": "x" * 600},
        {"api_key": "AIza\u00e9bad"},
        {},
        {"api_key": KEY, "extra": 1},
    ],
)
async def test_bad_key_bodies_are_422_without_echo(client, body):
    r = await client.put("/api/settings/gemini-key", json={**body, "allow_plaintext_file": True})
    assert r.status_code == 422
    if body.get("api_key", "").strip():
        assert body["api_key"] not in r.text


async def test_unknown_keyring_backend_name_is_reported(client, monkeypatch):
    monkeypatch.setenv("TASKCHAT_KEYRING_BACKEND", "keyrings.alt")
    body = (await client.get("/api/settings")).json()
    assert body["keyring"]["available"] is False
    assert "TASKCHAT_KEYRING_BACKEND" in body["keyring"]["message"]


# --------------------------------------------------------------------- key check


_REJECTED = (
    b'[{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}}]'
)


class _Models(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).seen.append(self.headers.get("Authorization", ""))
        good = self.headers.get("Authorization") == f"Bearer {KEY}"
        if self.path.endswith("/models") and good:
            body, status = b'{"object": "list", "data": []}', 200
        else:
            body, status = _REJECTED, 400
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def models_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1beta/openai/"
    server.shutdown()
    server.server_close()


async def test_key_check_valid_rejected_missing_offline(client, settings, models_server):
    settings.gemini_base_url = models_server
    r = await client.post("/api/settings/gemini-key/check")
    assert r.json()["status"] == "missing"

    await client.put(
        "/api/settings/gemini-key", json={"api_key": KEY, "allow_plaintext_file": True}
    )
    r = await client.post("/api/settings/gemini-key/check")
    assert r.status_code == 200
    assert r.json()["status"] == "valid"
    assert _Models.seen[-1] == f"Bearer {KEY}"

    wrong = "AIza" + "SyWRONG-123456789abcdefghijklmnopqrst"[:35]
    r = await client.post("/api/settings/gemini-key/check", json={"api_key": wrong})
    assert r.json()["status"] == "rejected"
    assert wrong not in r.text and KEY not in r.text

    settings.gemini_base_url = "http://127.0.0.1:9/v1beta/openai/"  # nothing listens there
    r = await client.post("/api/settings/gemini-key/check")
    assert r.json()["status"] == "offline"


async def test_saving_with_check_refuses_a_rejected_or_unchecked_key(
    client, settings, models_server
):
    settings.gemini_base_url = models_server
    wrong = "AIza" + "SyWRONG-123456789abcdefghijklmnopqrst"[:35]
    body = {"api_key": wrong, "allow_plaintext_file": True, "check": True}
    r = await client.put("/api/settings/gemini-key", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "key_rejected"
    assert r.json()["error"]["message"].startswith("Google rejected this key: “API key not valid.”")
    assert wrong not in r.text
    assert (await client.get("/api/settings")).json()["gemini_key"]["set"] is False

    # No keyring and no plaintext consent: said before Gemini is asked.
    asked = len(_Models.seen)
    r = await client.put("/api/settings/gemini-key", json={"api_key": KEY, "check": True})
    assert r.status_code == 409 and r.json()["error"]["code"] == "keyring_unavailable"
    assert len(_Models.seen) == asked

    body = {"api_key": KEY, "allow_plaintext_file": True, "check": True}
    r = await client.put("/api/settings/gemini-key", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["key_check"] == {"status": "valid", "message": "Gemini accepted the key."}
    assert r.json()["gemini_key"]["set"] is True
    await client.delete("/api/settings/gemini-key")

    settings.gemini_base_url = "http://127.0.0.1:9/v1beta/openai/"  # nothing listens there
    r = await client.put("/api/settings/gemini-key", json=body)
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "key_not_checked"
    assert "Couldn't reach Gemini" in r.json()["error"]["message"]
    assert (await client.get("/api/settings")).json()["gemini_key"]["set"] is False
    # Saved anyway when the person chooses to (no check): key_check stays null.
    r = await client.put("/api/settings/gemini-key", json={**body, "check": False})
    assert r.status_code == 200 and r.json()["key_check"] is None
    assert r.json()["gemini_key"]["set"] is True
