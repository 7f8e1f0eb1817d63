"""The chat machinery loads in the background (app/chat/routes.py `warm_up`), begun by the
first chat request that needs it (not the listings: tests/test_chat_listing.py): chat
requests that arrive meanwhile wait for it, the others do not; once loaded, its objects are
frozen out of the collector's way like the start-up's (app/boot.py)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.chat import routes
from tests.fakes.chatkit import TEST_KEY, create_thread, reply_text, stream
from tests.fakes.gemini import FakeGemini, Text

URL_LINE = re.compile(r"^TaskChat running at (http://127\.0\.0\.1:\d+)/\?launch=(\S+)$")
THREADS_LIST = {"type": "threads.list", "params": {"limit": 50, "order": "desc"}}
ITEMS_LIST = {"type": "items.list", "params": {"thread_id": "thr_gone", "order": "asc"}}


async def test_the_chat_import_waits_for_a_chat_request(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(routes, "ENDPOINT", "json")  # an import that is quick to observe
    asked = FastAPI()
    routes.warm_up(asked)
    await asyncio.sleep(0.3)
    assert not asked.state.chat_endpoint.done()  # nothing asked for the chat yet
    assert (await routes._endpoint(asked)) is json  # a chat request starts it and waits


async def test_a_chat_request_loads_the_chat_once_and_uses_it(live_server):
    app = live_server.app
    pending = app.state.chat_endpoint  # set up by the lifespan, loaded in a thread of its own
    async with live_server.client(timeout=120) as c:
        assert (await c.get("/api/tasks")).status_code == 200
        r = await c.post("/api/chatkit", content=json.dumps(THREADS_LIST))
        assert r.status_code == 200, r.text
        assert r.json()["data"] == []
        assert not pending.done()  # the list is answered from the store
        r = await c.post("/api/chatkit", content=json.dumps(ITEMS_LIST))
        assert r.status_code == 404, r.text  # a thread that is not there: still no import
        assert (await c.post("/api/chat/prepare")).status_code == 202
    assert pending.done() and pending.exception() is None
    assert app.state.chat_endpoint is pending  # imported once


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """`python -m app serve` in a new process: (the process, its launch URL line)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    return proc, proc.stdout.readline().strip()  # type: ignore[union-attr]


def stop(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(10)


async def test_first_requests_of_a_fresh_server_while_the_chat_imports(data_dir: Path):
    """A new `serve` process: the UI's first requests, the thread list and a first chat turn
    arrive together, while nothing of the chat is imported yet; each gets its answer."""
    gemini = FakeGemini().start()
    gemini.push(Text(["Hello", " there."]))
    env = {
        **os.environ,
        "TASKCHAT_DATA_DIR": str(data_dir),
        "GEMINI_BASE_URL": gemini.base_url,
        "GEMINI_API_KEY": TEST_KEY,
        "TASKCHAT_MAX_RETRIES": "0",
        "TASKCHAT_UPDATE_CHECK": "0",
    }
    proc, line = start_serve(env)
    try:
        match = URL_LINE.match(line)
        assert match, f"serve printed {line!r}"
        # A loaded 2-core machine takes seconds for the import: generous timeouts.
        async with httpx.AsyncClient(base_url=match.group(1), timeout=120) as c:
            assert (await c.get(line.split(" at ", 1)[1])).status_code == 303
            tasks, settings, threads, turn = await asyncio.gather(
                c.get("/api/tasks"),
                c.get("/api/settings"),
                c.post("/api/chatkit", content=json.dumps(THREADS_LIST)),
                stream(c, create_thread("hi")),
            )
            assert tasks.status_code == 200 and settings.status_code == 200
            assert threads.status_code == 200, threads.text
            assert reply_text(turn) == "Hello there."
            later = await c.post("/api/chatkit", content=json.dumps(THREADS_LIST))
            assert len(later.json()["data"]) == 1  # the thread of that first turn
        assert stop(proc) == 0
        log = "".join(p.read_text() for p in (data_dir / "logs").glob("*.log"))
        assert re.search(r"chat machinery imported: \d+ objects frozen", log), log[-2000:]
    finally:
        stop(proc)
        gemini.stop()
