"""The window's remembered size and position: `<data dir>/window.json`.

Loaded before the window opens, updated from the window's resize/move events and written
(atomically) when it closes. A file that is missing, unreadable or nonsensical falls back
to the defaults; a position that would put the window off every screen is dropped so the
window manager places it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from app.fileio import write_private_json

log = logging.getLogger(__name__)

FILE_NAME = "window.json"
MIN_WIDTH = 420
MIN_HEIGHT = 560
DEFAULT_WIDTH = 1100
DEFAULT_HEIGHT = 760
# Larger than any real screen: anything above is a corrupt file, not a preference.
_MAX_SIDE = 16384
# How much of the window must stay on a screen for a saved position to be reused.
_VISIBLE_MARGIN = 80


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class WindowState:
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    x: int | None = None
    y: int | None = None
    maximized: bool = False

    def normalised(self, screens: Iterable[Rect] = ()) -> WindowState:
        """Sizes clamped to [minimum, the largest screen]; off-screen positions dropped."""
        screens = list(screens)
        max_w = max((s.width for s in screens), default=_MAX_SIDE)
        max_h = max((s.height for s in screens), default=_MAX_SIDE)
        width = min(max(self.width, MIN_WIDTH), max(max_w, MIN_WIDTH))
        height = min(max(self.height, MIN_HEIGHT), max(max_h, MIN_HEIGHT))
        x, y = self.x, self.y
        if x is None or y is None:
            x = y = None
        elif screens and not any(_visible_on(s, x, y, width) for s in screens):
            x = y = None
        return replace(self, width=width, height=height, x=x, y=y)


def _visible_on(screen: Rect, x: int, y: int, width: int) -> bool:
    """True when the window's title bar area would be on `screen` (can be dragged back)."""
    return (
        x + width - _VISIBLE_MARGIN >= screen.x
        and x + _VISIBLE_MARGIN <= screen.x + screen.width
        and y >= screen.y - _VISIBLE_MARGIN // 2
        and y + _VISIBLE_MARGIN <= screen.y + screen.height
    )


def state_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def _int(value: object, default: int | None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    if abs(value) > _MAX_SIDE * 4:
        return default
    return int(value)


def load(data_dir: Path) -> WindowState:
    path = state_path(data_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return WindowState()
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable window state %s: %s", path, exc)
        return WindowState()
    if not isinstance(raw, dict):
        return WindowState()
    width = _int(raw.get("width"), DEFAULT_WIDTH) or DEFAULT_WIDTH
    height = _int(raw.get("height"), DEFAULT_HEIGHT) or DEFAULT_HEIGHT
    if not (0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE):
        width, height = DEFAULT_WIDTH, DEFAULT_HEIGHT
    return WindowState(
        width=width,
        height=height,
        x=_int(raw.get("x"), None),
        y=_int(raw.get("y"), None),
        maximized=raw.get("maximized") is True,
    )


def save(data_dir: Path, state: WindowState) -> None:
    path = state_path(data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        write_private_json(path, asdict(state))
    except OSError as exc:  # never fail a clean shutdown over a preference
        log.warning("could not save the window state to %s: %s", path, exc)


class Tracker:
    """Follows the window's geometry from its events (any thread) until it closes."""

    def __init__(self, initial: WindowState) -> None:
        self.state = initial

    def resized(self, width: int, height: int) -> None:
        if not self.state.maximized and width > 0 and height > 0:
            self.state = replace(self.state, width=int(width), height=int(height))

    def moved(self, x: int, y: int) -> None:
        if not self.state.maximized:
            self.state = replace(self.state, x=int(x), y=int(y))

    def maximized(self) -> None:
        self.state = replace(self.state, maximized=True)

    def restored(self) -> None:
        self.state = replace(self.state, maximized=False)
