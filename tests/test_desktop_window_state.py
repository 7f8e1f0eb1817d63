"""Remembered window size and position (app/desktop/window_state.py)."""

from __future__ import annotations

import json
from pathlib import Path

from app.desktop import window_state as ws
from app.desktop.window_state import Rect, WindowState

SCREEN = Rect(0, 0, 1920, 1080)


def test_defaults_when_missing_or_corrupt(tmp_path: Path) -> None:
    assert ws.load(tmp_path) == WindowState()
    ws.state_path(tmp_path).write_text("{not json")
    assert ws.load(tmp_path) == WindowState()
    ws.state_path(tmp_path).write_text(json.dumps([1, 2]))
    assert ws.load(tmp_path) == WindowState()
    ws.state_path(tmp_path).write_text(json.dumps({"width": "wide", "height": -5, "x": True}))
    state = ws.load(tmp_path)
    assert (state.width, state.height) == (ws.DEFAULT_WIDTH, ws.DEFAULT_HEIGHT)
    assert state.x is None


def test_round_trip(tmp_path: Path) -> None:
    state = WindowState(width=900, height=700, x=40, y=30, maximized=True)
    ws.save(tmp_path, state)
    assert ws.load(tmp_path) == state
    assert ws.state_path(tmp_path).stat().st_mode & 0o077 == 0


def test_minimum_size_and_screen_clamp() -> None:
    tiny = WindowState(width=100, height=100).normalised([SCREEN])
    assert (tiny.width, tiny.height) == (ws.MIN_WIDTH, ws.MIN_HEIGHT)
    huge = WindowState(width=9000, height=9000).normalised([SCREEN])
    assert (huge.width, huge.height) == (1920, 1080)
    # No screen information: only the minimum applies.
    assert WindowState(width=3000, height=2000).normalised([]).width == 3000


def test_off_screen_position_is_dropped() -> None:
    on = WindowState(width=800, height=600, x=100, y=100).normalised([SCREEN])
    assert (on.x, on.y) == (100, 100)
    # A monitor that was unplugged: the window would open where nobody can see it.
    off = WindowState(width=800, height=600, x=2500, y=100).normalised([SCREEN])
    assert off.x is None and off.y is None
    above = WindowState(width=800, height=600, x=100, y=-500).normalised([SCREEN])
    assert above.x is None
    second = Rect(1920, 0, 1280, 1024)
    assert WindowState(x=2500, y=100).normalised([SCREEN, second]).x == 2500


def test_tracker_ignores_geometry_while_maximized() -> None:
    tracker = ws.Tracker(WindowState(width=800, height=600, x=10, y=10))
    tracker.resized(1000, 700)
    tracker.moved(50, 60)
    tracker.maximized()
    tracker.resized(1920, 1080)
    tracker.moved(0, 0)
    assert tracker.state == WindowState(width=1000, height=700, x=50, y=60, maximized=True)
    tracker.restored()
    assert tracker.state.maximized is False
