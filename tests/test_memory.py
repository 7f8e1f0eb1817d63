"""Freed heap memory goes back to the OS: after the chat import, a rehearsal and each turn."""

from __future__ import annotations

import asyncio
import logging
import sys
import time

import pytest

from app.memory import MIB, QuietTrim, release_freed_memory, resident_bytes
from tests.fakes.chatkit import create_thread, reply_text, stream
from tests.fakes.gemini import Text
from tests.test_chat_rehearsal import prepared

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc_trim")


@linux
def test_freed_heap_chunks_leave_resident_memory() -> None:
    # 64 KiB blocks come from the C heap (below glibc's mmap threshold); keeping every
    # eighth alive stops free() from giving the freed runs between them back by itself.
    blocks = [bytearray(64 * 1024) for _ in range(2400)]  # ~150 MiB, all touched
    kept = blocks[::8]
    del blocks
    before = resident_bytes()
    released = release_freed_memory("test")
    after = resident_bytes()
    assert before is not None and after is not None
    assert released is not None and released > 80 * MIB, released / MIB
    assert before - after > 80 * MIB
    assert all(len(block) == 64 * 1024 for block in kept)  # what is alive stays intact


async def test_quiet_trim_runs_once_after_the_last_call() -> None:
    calls: list[tuple[str, float]] = []
    trim = QuietTrim(delay=0.2, release=lambda why: calls.append((why, time.monotonic())))
    trim.soon("first")
    await asyncio.sleep(0.1)
    last = time.monotonic()
    trim.soon("second")  # restarts the quiet period
    await asyncio.sleep(0.6)
    assert [why for why, _ in calls] == ["second"]
    assert calls[0][1] - last >= 0.2


async def test_quiet_trim_can_be_called_off() -> None:
    calls: list[str] = []
    trim = QuietTrim(delay=0.05, release=calls.append)
    trim.soon("turn")
    trim.cancel()
    await asyncio.sleep(0.2)
    assert calls == []


def _handed_back(caplog: pytest.LogCaptureFixture, why: str) -> bool:
    return any(
        r.name == "app.memory" and r.getMessage().startswith(f"{why}: ") for r in caplog.records
    )


async def _wait_for(caplog: pytest.LogCaptureFixture, why: str) -> None:
    for _ in range(300):  # up to 15 s
        if _handed_back(caplog, why):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no trim after: {why}")


@pytest.fixture
def memory_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Set before the server starts (list it ahead of `chat`): its warm-up logs early."""
    caplog.set_level(logging.DEBUG, logger="app.memory")
    return caplog


@linux
async def test_the_server_trims_after_its_chat_import_a_rehearsal_and_a_turn(
    memory_log: pytest.LogCaptureFixture, chat, gemini
) -> None:
    caplog = memory_log
    gemini.push(Text(["Hello", "!"]))
    async with chat.client() as c:
        # The lifespan's warm-up import of the chat machinery trims once it is done.
        await _wait_for(caplog, "chat machinery imported")
        # So does the rehearsal (POST /api/chat/prepare) once it has been quiet a moment.
        await prepared(c)
        await _wait_for(caplog, "chat rehearsal")
        events = await stream(c, create_thread("Hi there"))
        assert reply_text(events) == "Hello!"
        # ...and a finished turn trims once the chat has been quiet for a moment.
        await _wait_for(caplog, "chat turn")
