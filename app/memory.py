"""glibc's C heap, kept small: fewer per-thread arenas, free pages handed back after one-offs.

The window process runs GTK, uvicorn's thread, the chat import's thread and asyncio's
executor threads; glibc gives each thread that allocates an arena of its own (up to 8 per
core), and keeps what a one-off freed (the start-up's, the chat import's temporaries)
instead of returning it to the system. Two arenas and a trim after those one-offs hold
~3 MiB less at idle (benchmarks/bench_footprint.py, `MALLOC_ARENA_MAX=2` and a trim, against
the same build). Linux with glibc only: elsewhere (macOS, Windows, musl) every function
here does nothing and says so by returning None.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from functools import cache

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


@cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        # glibc's soname on every Linux architecture; musl has none of these functions.
        libc = ctypes.CDLL("libc.so.6")
        for name in ("gnu_get_libc_version", "malloc_trim", "mallopt"):
            getattr(libc, name)
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas() -> bool | None:
    """At most ARENAS malloc arenas (before threads start); None when not glibc, False when
    glibc refused or MALLOC_ARENA_MAX already decides."""
    libc = _glibc()
    if libc is None:
        return None
    if "MALLOC_ARENA_MAX" in os.environ or "GLIBC_TUNABLES" in os.environ:
        return False  # the person's (or a benchmark's) choice wins
    return bool(libc.mallopt(M_ARENA_MAX, ARENAS))


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def trim(after: str) -> int | None:
    """Hand the C heap's free pages back to the system after the one-off `after`; the
    resident bytes that gave back (0 or more), or None when not glibc."""
    libc = _glibc()
    if libc is None:
        return None
    before = _rss()
    libc.malloc_trim(0)
    freed = max(0, before - _rss())
    log.info("free C heap handed back after %s: %.1f MiB", after, freed / 2**20)
    return freed
