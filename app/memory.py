"""Handing the heap memory that one-time work freed back to the OS (glibc's malloc_trim)."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import sys
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)

# How long the chat stays quiet after a turn before its freed memory is handed back: long
# enough that a follow-up message sent right away does not find the trim in its way.
QUIET_S = 2.0
MIB = 1024 * 1024


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    # Why: Python hands freed objects back to the C allocator, and glibc keeps free chunks
    # in the middle of its heaps resident. The chat machinery's import (in a thread of its
    # own, so in a heap of its own), the first use of its schemas and a chat turn's buffers
    # leave 10-15 MiB resident that nothing uses; malloc_trim(0) gives those pages back.
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library
    except (OSError, AttributeError):  # a C library without it (musl)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def resident_bytes() -> int | None:
    """This process's resident memory (Linux /proc), None where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def release_freed_memory(why: str) -> int | None:
    """Give the C heap's free pages back to the OS. Returns the bytes that left the
    process's resident memory (None where there is no malloc_trim to call)."""
    trim = _malloc_trim()
    if trim is None:
        return None
    before = resident_bytes()
    trim(0)
    after = resident_bytes()
    released = max(0, before - after) if before is not None and after is not None else 0
    log.debug("%s: %.1f MiB of freed memory handed back to the OS", why, released / MIB)
    return released


class QuietTrim:
    """release_freed_memory once `delay` seconds passed without another `soon()`."""

    def __init__(
        self,
        delay: float = QUIET_S,
        release: Callable[[str], object] = release_freed_memory,
    ) -> None:
        self._delay = delay
        self._release = release
        self._pending: asyncio.TimerHandle | None = None

    def soon(self, why: str) -> None:
        """(Re)start the quiet period; call on the event loop."""
        if self._pending is not None:
            self._pending.cancel()
        loop = asyncio.get_running_loop()
        self._pending = loop.call_later(self._delay, self._run, loop, why)

    def _run(self, loop: asyncio.AbstractEventLoop, why: str) -> None:
        self._pending = None
        if loop.is_closed():
            return
        try:
            # In a worker thread: the first trim after a turn walks the whole heap (~3 ms).
            loop.run_in_executor(None, self._release, why)
        except RuntimeError:  # the loop's executor is already shut down: nothing to keep
            pass

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
