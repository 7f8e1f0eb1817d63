"""Faults between TaskChat and Gemini, and of TaskChat itself, with the same invariants after each.

After every fault: the server still answers (a follow-up turn in the same thread works), the
database passes `PRAGMA integrity_check`, the person's message is stored exactly once, a
partial reply is either absent or kept once and marked for the model, and the client got an
error event it can act on. Plain error wording is covered in tests/test_chat_errors.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.fakes.chatkit import (
    TEST_KEY,
    add_message,
    call,
    create_thread,
    items_of,
    of_type,
    reply_text,
    stream,
    thread_id,
)
from tests.fakes.gemini import Fail, FakeGemini, Hang, Raw, Text

TEXT = "add milk and bread"


def integrity_ok(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


async def listed_items(c: httpx.AsyncClient, tid: str) -> dict:
    params = {"thread_id": tid, "order": "asc", "limit": 100}
    return (await call(c, {"type": "items.list", "params": params})).json()


def _chunk(text: str) -> bytes:
    delta = {"content": text, "role": "assistant"}
    body = {"choices": [{"delta": delta, "index": 0}], "object": "chat.completion.chunk",
            "model": "gemini", "id": "x", "created": 1}  # fmt: skip
    return b"data: " + json.dumps(body).encode() + b"\n\n"


# (fault, env, expected error code fragment, partial text kept or None)
FAULTS = {
    "cut_mid_reply": (Text(["Hel", "lo", " world"], cut_after=2), {}, "broke off", None),
    "stall_past_timeout": (Hang(3), {"TASKCHAT_REQUEST_TIMEOUT": "0.5"}, "too long", None),
    "stall_mid_reply": (
        Text(["Half", " of it", " never"], delay=3),
        {"TASKCHAT_TURN_TIMEOUT": "1"},
        "too long",
        "Half",
    ),
    "http_500": (Fail(500, "Internal error encountered.", "INTERNAL"), {}, "trouble", None),
    "http_503": (Fail(503, "The model is overloaded.", "UNAVAILABLE"), {}, "trouble", None),
    "http_429_retry_after": (
        Fail(429, "Resource exhausted", "RESOURCE_EXHAUSTED", headers={"Retry-After": "7"}),
        {},
        "quota",
        None,
    ),
    "malformed_json_chunk": (
        Raw([_chunk("Start"), b"data: {not json at all\n\n"]),
        {},
        "Try again",
        None,
    ),
    "chunk_of_wrong_shape": (
        Raw([_chunk("Start"), b'data: {"choices": 5, "object": 7}\n\n']),
        {},
        "Try again",
        None,
    ),
    "error_object_mid_stream": (
        Raw(
            [
                _chunk("Start"),
                b'data: {"error": {"code": 500, "message": "Internal", "status": "INTERNAL"}}\n\n',
            ]
        ),
        {},
        "having trouble",
        None,
    ),
    "quota_error_mid_stream": (
        Raw(
            [
                b'data: {"error": {"code": 429, "message": "Quota", '
                b'"status": "RESOURCE_EXHAUSTED"}}\n\n'
            ]
        ),
        {},
        "quota",
        None,
    ),
    "empty_stream": (Raw([], done=True), {}, "empty answer", None),
    "network_unreachable": (
        None,
        {"GEMINI_BASE_URL": "http://127.0.0.1:1/v1beta/openai/"},
        "Can't reach Gemini",
        None,
    ),
}


@pytest.mark.parametrize(
    ("fault", "app_env"),
    [(name, env) for name, (_, env, _, _) in FAULTS.items()],
    ids=list(FAULTS),
)
async def test_fault_keeps_the_invariants(chat, gemini, db, settings, fault, app_env):
    reply, _, expected, partial = FAULTS[fault]
    if reply is not None:
        gemini.push(reply)
    async with chat.client(timeout=30) as c:
        events = await stream(c, create_thread(TEXT))
        tid = thread_id(events)
        errors = of_type(events, "error")
        [error] = errors
        assert expected in error.message, error.message
        assert error.allow_retry is True
        # The error is the last thing the client hears about this turn.
        assert events.index(error) >= len(events) - 2

        items = await items_of(db, tid)
        users = [i for i in items if i.type == "user_message"]
        assert len(users) == 1 and users[0].data["content"][0]["text"] == TEXT
        replies = [i for i in items if i.type == "assistant_message"]
        marks = [i for i in items if i.type == "sdk_hidden_context"]
        seen = reply_text(events)
        if partial is not None:
            assert seen == partial  # this fault always leaves a partial reply
        if replies:
            # Kept once, exactly as the person saw it, and marked for the model.
            [kept] = replies
            assert "".join(p["text"] for p in kept.data["content"]) == seen
            assert kept.id != "__fake_id__"
            assert len(marks) == 1 and items.index(marks[0]) > items.index(kept)
            assert "cut off" in marks[0].data["content"]
        else:
            # Absent: then the person never saw any of it either.
            assert seen == "" and marks == []
        integrity_ok(settings.sqlite_path)

        # Retry: nothing is duplicated, the person's message stays exactly once.
        if fault != "network_unreachable":
            gemini.push(Text(["Retried", " fine."]))
            retried = await stream(
                c,
                {"type": "threads.retry_after_item",
                 "params": {"thread_id": tid, "item_id": users[0].id}},
            )  # fmt: skip
            assert of_type(retried, "error") == []
            assert reply_text(retried) == "Retried fine."
            after = await items_of(db, tid)
            assert [i.type for i in after if i.type != "hidden_context_item"] == [
                "user_message",
                "assistant_message",
            ]
            assert after[0].id == users[0].id

        # Still serving: the REST API and the same thread answer.
        assert (await c.get("/api/health")).status_code == 200
        assert (await c.get("/api/tasks")).status_code == 200
        listed = await listed_items(c, tid)
        assert listed["data"][0]["type"] == "user_message"
        if fault != "network_unreachable":
            follow = await stream(c, add_message(tid, "and eggs"))
            assert of_type(follow, "error") == []
    integrity_ok(settings.sqlite_path)


async def test_quota_error_says_how_long_to_wait(chat, gemini, db):
    gemini.push(Fail(429, "exhausted", "RESOURCE_EXHAUSTED", headers={"Retry-After": "42"}))
    async with chat.client() as c:
        events = await stream(c, create_thread("hi"))
    [error] = of_type(events, "error")
    assert "42 seconds" in error.message and error.allow_retry


# ----------------------------------------------------------------- SIGKILL + restart

URL_LINE = re.compile(r"^TaskChat running at (http://127\.0\.0\.1:\d+)/\?launch=(\S+)$")


class Served:
    """`python -m app serve` in a subprocess, signed in through its launch URL."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        line = self.proc.stdout.readline().strip()
        match = URL_LINE.match(line)
        assert match, f"unexpected first line: {line!r}"
        self.url = match.group(1)
        self.launch = line.split(" at ", 1)[1]

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as c:
            assert (await c.get(self.launch)).status_code == 303
            yield c

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


async def test_sigkill_mid_stream_then_restart(data_dir, settings):
    gemini = FakeGemini().start()
    env = {**os.environ, "GEMINI_BASE_URL": gemini.base_url, "GEMINI_API_KEY": TEST_KEY,
           "TASKCHAT_MAX_RETRIES": "0", "TASKCHAT_DATA_DIR": str(data_dir)}  # fmt: skip
    gemini.push(Text(["Working", " on", " it", " slowly"], delay=0.5))
    first = Served(env)
    try:
        async with first.client() as c:
            # A task made before the crash must survive it.
            assert (await c.post("/api/tasks", json={"title": "before crash"})).status_code == 201
            got_error = None
            body = json.dumps(create_thread(TEXT))
            async with c.stream("POST", "/api/chatkit", content=body) as r:
                try:
                    async for line in r.aiter_lines():
                        if '"thread.created"' in line:
                            tid = json.loads(line[6:])["thread"]["id"]
                        if "text_delta" in line:
                            first.kill()  # mid-reply, with the agent run in flight
                except httpx.HTTPError as exc:
                    got_error = exc
            # The client sees the stream break (the web UI shows "Connection to TaskChat lost").
            assert got_error is not None or first.proc.returncode == -signal.SIGKILL
    finally:
        first.kill()

    integrity_ok(data_dir / "taskchat.db")
    gemini.push(Text(["Back", " again."]))
    second = Served(env)
    try:
        async with second.client() as c:
            assert (await c.get("/api/health")).status_code == 200
            tasks = (await c.get("/api/tasks")).json()
            assert [t["title"] for t in tasks["items"]] == ["before crash"]
            listed = await listed_items(c, tid)
            kinds = [i["type"] for i in listed["data"]]
            # The message is kept once; the unfinished reply died with the process.
            assert kinds == ["user_message"]
            user_item = listed["data"][0]["id"]
            retried = await stream(
                c,
                {"type": "threads.retry_after_item",
                 "params": {"thread_id": tid, "item_id": user_item}},
            )  # fmt: skip
            assert reply_text(retried) == "Back again."
            listed = await listed_items(c, tid)
            assert [i["type"] for i in listed["data"]] == ["user_message", "assistant_message"]
            follow = await stream(c, add_message(tid, "thanks"))
            assert of_type(follow, "error") == []
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(10) == 0
    finally:
        second.kill()
        gemini.stop()
    integrity_ok(data_dir / "taskchat.db")


async def test_sigkill_during_task_writes_leaves_a_consistent_db(data_dir, settings):
    """Kill the server while REST writes are in flight: every task is there whole or not at all."""
    env = {**os.environ, "TASKCHAT_DATA_DIR": str(data_dir)}
    first = Served(env)
    acknowledged: list[str] = []
    try:
        async with first.client() as c:

            async def writer(n: int) -> None:
                for i in range(1000):
                    try:
                        r = await c.post("/api/tasks", json={"title": f"w{n}-{i}", "tags": ["x"]})
                    except httpx.HTTPError:
                        return
                    if r.status_code == 201:
                        acknowledged.append(r.json()["id"])

            writers = [asyncio.create_task(writer(n)) for n in range(4)]
            await asyncio.sleep(1.0)
            first.kill()
            await asyncio.gather(*writers)
    finally:
        first.kill()
    assert acknowledged
    integrity_ok(data_dir / "taskchat.db")
    with sqlite3.connect(data_dir / "taskchat.db") as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM task")}
        # Every acknowledged write survived (synchronous=NORMAL in WAL loses at most the
        # tail on power loss, not on a process kill), and tag index rows match their tasks.
        assert set(acknowledged) <= ids
        orphans = conn.execute(
            "SELECT count(*) FROM task_tag WHERE task_id NOT IN (SELECT id FROM task)"
        ).fetchone()[0]
        assert orphans == 0
        untagged = conn.execute(
            "SELECT count(*) FROM task WHERE id NOT IN (SELECT task_id FROM task_tag)"
        ).fetchone()[0]
        assert untagged == 0
        fts = conn.execute("SELECT count(*) FROM task_fts").fetchone()[0]
        assert fts == len(ids)
        w0 = conn.execute("SELECT count(*) FROM task WHERE title LIKE 'w0-%'").fetchone()[0]
    second = Served(env)
    try:
        async with second.client() as c:
            assert (await c.get("/api/tasks", params={"q": "w0"})).json()["total"] == w0
            assert (await c.post("/api/tasks", json={"title": "after"})).status_code == 201
    finally:
        second.kill()
