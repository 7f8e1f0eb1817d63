"""app/memory.py on this Linux/glibc machine: two malloc arenas however many threads
allocate, free pages handed back by a trim; and nothing at all where glibc is not."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from app import memory

pytestmark = pytest.mark.skipif(
    memory._glibc() is None, reason="glibc only (elsewhere memory.py does nothing)"
)

# Six threads allocate at once, then glibc prints its arenas (malloc_stats, to stderr).
ARENAS_PROBE = """
import ctypes, sys, threading
from app import memory
print(memory.limit_arenas() if sys.argv[1] == "limit" else "-")
barrier = threading.Barrier(6)
def work():
    barrier.wait()
    blocks = [bytes(200_000) for _ in range(20)]  # malloc'd (above pymalloc's sizes)
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL("libc.so.6").malloc_stats()
"""


def arenas(mode: str, **env: str) -> tuple[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", ARENAS_PROBE, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    return result.stdout.strip(), result.stderr.count("Arena ")


def test_limit_arenas_keeps_threads_to_two_arenas():
    said, count = arenas("limit")
    assert said == "True"
    assert 1 <= count <= memory.ARENAS
    _, unlimited = arenas("none")
    assert unlimited > memory.ARENAS  # the probe does make glibc create more


def test_the_person_s_malloc_arena_max_wins():
    said, count = arenas("limit", MALLOC_ARENA_MAX="3")
    assert said == "False" and count <= 3


def test_trim_hands_freed_pages_back(caplog: pytest.LogCaptureFixture):
    kept, freed = [], []
    for _ in range(300):  # 30 MB of holes between blocks that stay
        freed.append(bytes(100_000))
        kept.append(bytes(2_000))
    freed.clear()
    with caplog.at_level(logging.INFO, logger="app.memory"):
        given_back = memory.trim("the test's blocks")
    assert given_back is not None and given_back > 10 * 2**20
    assert "free C heap handed back after the test's blocks" in caplog.text
    assert len(kept) == 300


def test_nothing_happens_without_glibc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(memory, "_glibc", lambda: None)
    assert memory.limit_arenas() is None
    assert memory.trim("anything") is None
