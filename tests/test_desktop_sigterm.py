"""SIGTERM while a reply streams: the database stays intact and keeps the user's message
and the part of the reply that was written.

The app runs as a real process (the desktop window under Xvfb, and `serve`), talks to a
slow fake Gemini, and is sent SIGTERM after the first streamed words of the reply have
reached the client. Afterwards SQLite's `PRAGMA integrity_check` must say ok, and the
user's message and the reply so far (as when a client stops a stream) must be in the
chat_item table.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.config import get_settings
from app.main import create_app
from tests.fakes.chatkit import create_thread
from tests.fakes.gemini import FakeGemini, Text
from tests.test_desktop_gui import gui_env, wait_for_instance, xvfb_display  # noqa: F401

MESSAGE = "Remember to buy oat milk before Friday"


@pytest.fixture
def slow_gemini() -> FakeGemini:
    fake = FakeGemini().start()
    # About 20 s of reply, one word every 0.25 s: the stream is cut long before its end.
    fake.default = Text([f"word{i} " for i in range(80)], delay=0.25)
    yield fake
    fake.stop()


def session_headers(data_dir: Path) -> dict[str, str]:
    """A session minted with this data folder's signing secret (a 0600 file here, as the
    tests use no keyring), exactly what the window's launch link would have set."""
    app = create_app(get_settings())
    token = app.state.mint_session_token(app.state.local_user_id)
    assert (data_dir / "profile.json").is_file()
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def start_app(mode: str, env: dict[str, str], data_dir: Path) -> tuple[subprocess.Popen, int]:
    if mode == "serve":
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            match = re.search(r"TaskChat running at http://127\.0\.0\.1:(\d+)/", line)
            if match:
                return proc, int(match.group(1))
        proc.kill()
        raise AssertionError("serve never printed its URL: " + "".join(seen))
    proc = subprocess.Popen(
        [sys.executable, "-m", "app"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, wait_for_instance(data_dir, proc).port


class Reader(threading.Thread):
    """Sends a message and reads the reply's stream to its end, as the window does.

    It goes on reading after the first words (`started`): a client that stopped reading
    or hung up would make the server end the stream itself before the signal, and the
    shutdown would never meet a reply in flight.
    """

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.port, self.headers = port, headers
        self.started = threading.Event()
        self.deltas = 0

    def run(self) -> None:
        url = f"http://127.0.0.1:{self.port}"
        with httpx.Client(base_url=url, headers=self.headers, timeout=30) as client:
            request = client.build_request("POST", "/api/chatkit", json=create_thread(MESSAGE))
            response = client.send(request, stream=True)
            try:
                for line in response.iter_lines():
                    if '"assistant_message.content_part.text_delta"' in line:
                        self.deltas += 1
                        if self.deltas == 3:
                            self.started.set()
            except httpx.HTTPError:
                pass  # the server went away mid-stream
            finally:
                response.close()


@pytest.mark.parametrize("mode", ["window", "serve"])
def test_sigterm_mid_stream_keeps_db_intact_and_the_user_message(
    mode: str, data_dir: Path, slow_gemini: FakeGemini, request: pytest.FixtureRequest
) -> None:
    extra = {
        "GEMINI_BASE_URL": slow_gemini.base_url,
        "GEMINI_API_KEY": "fake-sigterm-test-key-not-real",
        "TASKCHAT_MAX_RETRIES": "0",
    }
    if mode == "window":
        display = request.getfixturevalue("xvfb_display")
        env = gui_env(display, data_dir, **extra)
    else:
        env = {**os.environ, "TASKCHAT_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **extra}
    proc, port = start_app(mode, env, data_dir)
    try:
        reader = Reader(port, session_headers(data_dir))
        reader.start()
        assert reader.started.wait(30), "the reply never started streaming"
        assert slow_gemini.requests, "the app never called the fake Gemini"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)
        elapsed = time.monotonic() - t0
        reader.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    output = proc.stdout.read() if proc.stdout else ""
    assert code == 0, output[-3000:]
    assert elapsed < 8, f"SIGTERM took {elapsed:.1f} s to stop the app"

    with contextlib.closing(sqlite3.connect(data_dir / "taskchat.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT type, data FROM chat_item ORDER BY created_at, seq").fetchall()
    users = [json.loads(data) for kind, data in rows if kind == "user_message"]
    assert len(users) == 1, rows
    texts = [part.get("text") for part in users[0]["content"]]
    assert MESSAGE in texts
    # The server stops the stream as a client's stop would, and stores what was written
    # before it closes the database: at least the words the client had seen.
    replies = [json.loads(data) for kind, data in rows if kind == "assistant_message"]
    assert len(replies) == 1, rows
    reply = "".join(part.get("text", "") for part in replies[0]["content"])
    assert reply.startswith("word0 word1 word2 "), reply
    # A stop mid-reply is an ordinary stop: the reply ends before uvicorn's graceful wait
    # runs out, so nothing is cancelled and logged as an error.
    logged = output + "".join(p.read_text() for p in (data_dir / "logs").glob("*.log*"))
    for sign in ("Traceback", "Exception in ASGI application", "never retrieved", "destroyed"):
        assert sign not in logged, logged[-3000:]
    # uvicorn's console lines ("ERROR:    ...") and TaskChat's log file ("... ERROR name:");
    # Qt WebEngine's own lines ("[pid:tid:...:ERROR:bus.cc...]") are not TaskChat's.
    assert not re.search(r"^ERROR:|\d ERROR \S+:", logged, re.M), logged[-3000:]
