"""Hybrid logical clock (Kulkarni et al.): wall-clock milliseconds plus a counter.

A stamp is a 16-character hex string `MMMMMMMMMMMMCCCC` (48-bit milliseconds since the
epoch, 16-bit counter), so stamps compare correctly as strings. Every stamp this clock
issues is greater than every stamp it issued or observed before, whatever the wall
clock does; ties between devices are broken by the device id: (hlc, device).

The wall clock is a callable you pass in (tests skew it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

ZERO = "0" * 16
_MAX_COUNTER = 0xFFFF
_HEX = frozenset("0123456789abcdef")
# A stamp further ahead of this device's wall clock is refused: observing it would push
# every later local stamp there (ffffffffffffffff would even overflow the format). A day
# is far beyond any real clock skew.
MAX_AHEAD_MS = 24 * 3600 * 1000


def valid_stamp(stamp: object, wall: int | None = None) -> bool:
    """A well-formed stamp not too far in the future."""
    if not isinstance(stamp, str) or len(stamp) != 16 or not _HEX.issuperset(stamp):
        return False
    return int(stamp[:12], 16) <= (wall_ms() if wall is None else wall) + MAX_AHEAD_MS


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def encode(ms: int, counter: int) -> str:
    return f"{ms:012x}{counter:04x}"


def decode(stamp: str) -> tuple[int, int]:
    return int(stamp[:12], 16), int(stamp[12:16], 16)


class HLC:
    def __init__(self, device_id: str, wall: Callable[[], int] = wall_ms, last: str = ZERO):
        self.device_id = device_id
        self.wall = wall
        self._ms, self._counter = decode(last or ZERO)
        self._lock = threading.Lock()

    @property
    def last(self) -> str:
        return encode(self._ms, self._counter)

    def _advance(self, ms: int, counter: int) -> str:
        if counter > _MAX_COUNTER:  # 65k stamps in one millisecond: borrow the next one
            ms, counter = ms + 1, 0
        self._ms, self._counter = ms, counter
        return encode(ms, counter)

    def now(self) -> str:
        """A new stamp for a local change."""
        with self._lock:
            pt = self.wall()
            if pt > self._ms:
                return self._advance(pt, 0)
            return self._advance(self._ms, self._counter + 1)

    def observe(self, stamp: str | None) -> None:
        """Move past a stamp seen from another device (so later local writes win over it)."""
        if not stamp:
            return
        if not valid_stamp(stamp, self.wall()):
            return  # refused with its row (app/sync/local.py); never moves the clock
        with self._lock:
            ms, counter = decode(stamp)
            if (ms, counter) > (self._ms, self._counter):
                self._ms, self._counter = ms, counter
