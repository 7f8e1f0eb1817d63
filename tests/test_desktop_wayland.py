"""The window in a Wayland session without X11 (headless weston), as on a default Ubuntu or
Fedora desktop: from source and the built binary, self-test and screenshot.

GTK picks Wayland when WAYLAND_DISPLAY is set; with DISPLAY unset there is no X11 to fall
back to, so a passing self-test ran on Wayland.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_desktop_gui import FAKE_KEY, png_size
from tests.test_packaging_binary import ARTIFACTS, assert_shows_taskchat, binary  # noqa: F401 (fixture)
from tests.wayland import have_weston, wayland_session

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def wayland() -> Iterator[dict[str, str]]:
    if not sys.platform.startswith("linux"):
        pytest.skip("Wayland sessions are Linux only")
    if not have_weston():
        pytest.skip("weston is not installed (scripts/setup.sh --test installs it)")
    with wayland_session() as env:
        yield env


def wayland_env(session: dict[str, str], data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "GDK_BACKEND")}
    env.update(session, TASKCHAT_DATA_DIR=str(data_dir), GEMINI_API_KEY=FAKE_KEY)
    return env


@pytest.mark.parametrize("kind", ["source", "binary"])
def test_self_test_in_a_wayland_session(
    wayland: dict[str, str], data_dir: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"taskchat-wayland-{kind}.png"
    shot.unlink(missing_ok=True)
    # The binary as test_packaging_binary's fixture finds it (skipped, or failed in CI,
    # when it was not built).
    cmd = (
        [sys.executable, "-m", "app"]
        if kind == "source"
        else [str(request.getfixturevalue("binary"))]
    )
    result = subprocess.run(
        [*cmd, "--self-test", "--screenshot", str(shot)],
        env=wayland_env(wayland, data_dir),
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("SELF-TEST OK "), (
        result.stdout + result.stderr[-3000:]
    )
    assert "backend=gtk" in lines[0]
    assert result.returncode == 0
    width, height = png_size(shot)
    assert width >= 420 and height >= 560
    assert_shows_taskchat(shot)
