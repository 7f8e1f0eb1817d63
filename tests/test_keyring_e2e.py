"""End to end: a key stored through the API reaches Gemini and nothing else.

The key goes in with `PUT /api/settings/gemini-key` (real Secret Service), a chat turn
runs against the fake Gemini, which must see it as `Authorization: Bearer <key>`; then
every file in the data folder (SQLite db, WAL, logs, config) and every API response of
the session is searched for it: zero hits.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from keyring.backends import SecretService

from app.config import Settings
from app.security import keystore
from app.security.keyrings import SERVICE
from app.server import build_server
from tests.fakes.chatkit import add_message, create_thread, of_type, reply_text, stream, thread_id
from tests.fakes.gemini import Fail, FakeGemini, Text

pytestmark = pytest.mark.keyring

KEY = "AIza" + "SyE2E-secret-0123456789abcdefghijklmnop"[:35]
ROOT = Path(__file__).resolve().parent.parent


def needles(key: str) -> list[bytes]:
    raw = key.encode()
    return [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), key.encode("utf-16-le")]


def files_containing(folder: Path, key: str) -> list[str]:
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(n in data for n in needles(key)):
                hits.append(str(path.relative_to(folder)))
    return hits


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGemini]:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.skip(
            "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset): run the suite with "
            "`make test`, which starts dbus-run-session and an unlocked gnome-keyring"
        )
    fake = FakeGemini().start()
    monkeypatch.setenv("GEMINI_BASE_URL", fake.base_url)
    monkeypatch.setenv("TASKCHAT_MAX_RETRIES", "0")
    monkeypatch.setenv("TASKCHAT_KEYRING_BACKEND", "secretservice")
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    yield fake
    fake.stop()


class Running:
    """A real uvicorn server in a thread that the test can stop (to checkpoint SQLite)."""

    def __init__(self) -> None:
        settings = Settings()
        ready = threading.Event()
        self.server, self.sock, self.app = build_server(
            settings, host="127.0.0.1", port=0, on_ready=lambda _a, _p: ready.set()
        )
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), daemon=True
        )
        self.thread.start()
        if not ready.wait(15):
            raise RuntimeError("server did not start")
        self.settings = settings
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def client(self, **kwargs) -> httpx.AsyncClient:
        token = self.app.state.mint_session_token()
        # A guard against a hang, not a measured time: a first chat turn loads the agent
        # stack, which on a loaded 2-core machine can outlast httpx's default 5 s.
        kwargs.setdefault("timeout", 60)
        return httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, **kwargs
        )

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


@pytest.fixture
def server(gemini: FakeGemini, data_dir: Path) -> Iterator[Running]:
    """Created after the environment above is in place."""
    running = Running()
    yield running
    _stop_and_clear(running)


def _stop_and_clear(running: Running) -> None:
    """Stop the server and remove what it stored in the (session's) keyring."""
    running.stop()
    forget_stored_secrets(running.settings)


def forget_stored_secrets(settings: Settings) -> None:
    """Remove the key and the signing secret this data folder stored in the keyring."""
    backend = SecretService.Keyring()
    for kind in ("gemini-api-key", "session-signing-secret"):
        try:
            backend.delete_password(SERVICE, f"{kind}:{keystore.install_id(settings)}")
        except Exception:
            pass


async def test_key_reaches_gemini_and_nowhere_else(server: Running, gemini: FakeGemini):
    settings = server.settings
    responses: list[httpx.Response] = []
    streamed: list[str] = []

    async def hook(response: httpx.Response) -> None:
        await response.aread()
        responses.append(response)

    async with server.client(event_hooks={"response": [hook]}) as c:
        # Before a key exists the chat says so, without calling Gemini.
        r = await c.put("/api/settings/gemini-key", json={"api_key": KEY})
        assert r.status_code == 200, r.text
        assert r.json()["gemini_key"] == {"set": True, "last4": KEY[-4:], "source": "keyring"}

        gemini.push(Text(["Sure, ", "noted."]))
        events = await stream(c, create_thread("Remember to water the plants"))
        assert reply_text(events) == "Sure, noted."
        tid = thread_id(events)
        streamed.append(json.dumps([e.model_dump(mode="json") for e in events]))

        # Everything else the UI would fetch in a session.
        await c.get("/api/settings")
        await c.post("/api/settings/gemini-key/check")
        await c.get("/api/tasks")
        await c.post("/api/tasks", json={"title": "water the plants"})
        await c.post("/api/chatkit", json={"type": "threads.list", "params": {}})
        await c.post("/api/chatkit", json={"type": "items.list", "params": {"thread_id": tid}})
        await c.put("/api/settings/gemini-key", json={"api_key": KEY + " x"})  # 422
        await c.put("/api/settings", json={"timezone": KEY})  # 422, must not echo
        await c.get("/api/openapi.json")
        await c.get("/")

    # The fake Gemini received the key, and only as the bearer credential.
    chat_calls = [r for r in gemini.requests if r.path.endswith("/chat/completions")]
    assert chat_calls
    for call in chat_calls:
        assert call.headers["authorization"] == f"Bearer {KEY}"
        assert KEY not in json.dumps(call.body)
    assert keystore.load_gemini_key(settings) == KEY

    # No API response (bodies or headers) carried it.
    assert len(responses) >= 10
    for response in responses:
        blob = response.content + str(response.headers).encode()
        assert not any(n in blob for n in needles(KEY)), response.request.url
    for text in streamed:
        assert KEY not in text

    # Not in the data folder while the server runs (db, -wal, -shm, logs, config) …
    assert (settings.data_dir / "taskchat.db").exists()
    assert (settings.data_dir / "logs" / "taskchat.log").stat().st_size > 0
    assert files_containing(settings.data_dir, KEY) == []

    # … nor after shutdown, when SQLite has checkpointed its WAL into the db.
    server.stop()
    assert files_containing(settings.data_dir, KEY) == []
    assert b"water the plants" in (settings.data_dir / "taskchat.db").read_bytes()


def _bearers(gemini: FakeGemini) -> list[str]:
    return [
        r.headers["authorization"] for r in gemini.requests if r.path.endswith("/chat/completions")
    ]


def _replace_behind_taskchats_back(settings: Settings, key: str) -> None:
    """Change the stored key with keyring itself, as a password manager would."""
    SecretService.Keyring().set_password(
        SERVICE, f"gemini-api-key:{keystore.install_id(settings)}", key
    )


async def test_turns_keep_the_key_until_it_changes(server: Running, gemini: FakeGemini):
    """The keyring is read for the first turn only (a D-Bus round trip each time before);
    a key stored by another TaskChat process (`taskchat key set`) is seen on the next turn,
    and one replaced outside TaskChat once Gemini rejects the key kept in memory."""
    settings = server.settings
    first, second, third = (KEY[:-3] + suffix for suffix in ("one", "two", "tri"))
    keystore.store_gemini_key(settings, first)
    async with server.client() as c:
        gemini.push(Text(["One."]))
        tid = thread_id(await stream(c, create_thread("hello")))

        # Replaced behind TaskChat's back: the kept key is still used, without a lookup.
        _replace_behind_taskchats_back(settings, second)
        gemini.push(Text(["Two."]))
        assert reply_text(await stream(c, add_message(tid, "again"))) == "Two."
        assert _bearers(gemini) == [f"Bearer {first}"] * 2

        # Gemini rejects it: the turn says so, and the next one reads the keyring again.
        gemini.push(Fail(400, "API key not valid. Please pass a valid API key.",
                         "INVALID_ARGUMENT", reason="API_KEY_INVALID"))  # fmt: skip
        events = await stream(c, add_message(tid, "still there?"))
        assert "rejected your API key" in of_type(events, "error")[0].message
        gemini.push(Text(["Three."]))
        assert reply_text(await stream(c, add_message(tid, "now?"))) == "Three."
        assert _bearers(gemini)[-1] == f"Bearer {second}"

        # Another process stores a key (the CLI): the next turn uses it.
        env = {k: v for k, v in os.environ.items() if k != "GEMINI_API_KEY"}
        env.update(TASKCHAT_DATA_DIR=str(settings.data_dir))
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "app", "key", "set"],
            input=third + "\n", capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        gemini.push(Text(["Four."]))
        assert reply_text(await stream(c, add_message(tid, "and now?"))) == "Four."
        assert _bearers(gemini)[-1] == f"Bearer {third}"

        # Settings' key check reads the store itself: it sees a key replaced elsewhere.
        fourth = KEY[:-3] + "for"
        _replace_behind_taskchats_back(settings, fourth)
        assert (await c.post("/api/settings/gemini-key/check")).json()["status"] == "valid"
        assert gemini.model_lists[-1].path.endswith("/models")
        assert gemini.model_lists[-1].headers["authorization"] == f"Bearer {fourth}"

        # Cleared through the API: the chat says there is no key, and asks Gemini nothing.
        assert (await c.delete("/api/settings/gemini-key")).status_code == 200
        calls = len(gemini.requests)
        events = await stream(c, add_message(tid, "hello?"))
        assert "Add your Gemini API key" in of_type(events, "error")[0].message
        assert len(gemini.requests) == calls


def test_webui_bundle_holds_no_key():
    dist = ROOT / "webui" / "dist"
    if not dist.is_dir():
        pytest.skip("webui/dist is not built (make webui)")
    pattern = re.compile(rb"AIza[0-9A-Za-z_\-]{35}")
    for path in dist.rglob("*"):
        if path.is_file():
            assert not pattern.search(path.read_bytes()), path


async def _model_listings(gemini: FakeGemini, count: int) -> None:
    """Wait until the app has listed Gemini's models `count` times (and had the answer)."""
    for _ in range(200):
        if len(gemini.model_lists) >= count:
            await asyncio.sleep(0.3)  # recorded on arrival: let the answer reach the app
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the app listed Gemini's models {len(gemini.model_lists)} times")


async def test_typing_reads_a_key_replaced_elsewhere_once_gemini_rejects_the_kept_one(
    gemini: FakeGemini, data_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    """The connection opened as the person types (prepare) meets the rejection before
    their turn does: the key is read anew and the turn goes through with the new one."""
    monkeypatch.setenv("TASKCHAT_GEMINI_KEEPALIVE", "2")  # reopened after 1 s unused
    running = Running()
    try:
        settings = running.settings
        old, new = KEY[:-3] + "old", KEY[:-3] + "new"
        keystore.store_gemini_key(settings, old)
        async with running.client() as c:
            # Typing the first message: rehearsal, the key read and kept, connection opened.
            assert (await c.post("/api/chat/prepare")).status_code == 202
            await _model_listings(gemini, 1)
            # Replaced in the password manager; Gemini stops accepting the old key.
            _replace_behind_taskchats_back(settings, new)
            gemini.rejected_keys.add(old)
            await asyncio.sleep(1.2)
            assert (await c.post("/api/chat/prepare")).status_code == 202
            await _model_listings(gemini, 2)
            assert gemini.model_lists[1].headers["authorization"] == f"Bearer {old}"
            gemini.push(Text(["Hello."]))
            events = await stream(c, create_thread("hello"))
        # No "Gemini rejected your API key" first: the turn read the new key.
        assert of_type(events, "error") == []
        assert reply_text(events) == "Hello."
        assert _bearers(gemini) == [f"Bearer {new}"]
    finally:
        _stop_and_clear(running)
