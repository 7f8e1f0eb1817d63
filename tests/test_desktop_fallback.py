"""The window cannot start: a plain message, `taskchat doctor`, `serve` — never an abort.

WebKitGTK (the Linux default): its library is hidden behind a broken copy
(LD_LIBRARY_PATH), or DISPLAY points at a display number nobody serves. Qt WebEngine
(TASKCHAT_WEBVIEW=qt) ends the process with abort() (exit 134) when its xcb platform plugin
cannot load or the X server is not there; the same causes are made for real for it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from app.desktop import backend
from tests.test_desktop_gui import gui_env, xvfb_display  # noqa: F401 (fixture)
from tests.test_packaging_binary import binary  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="WebKitGTK and Qt are the Linux backends"
)


def need_qt() -> dict[str, str]:
    """The environment that picks Qt WebEngine (skips without the `qt` extra)."""
    pytest.importorskip("PySide6.QtWebEngineWidgets", reason="the `qt` extra")
    return {"TASKCHAT_WEBVIEW": "qt"}


def unused_display() -> str:
    """A display number with no X server (no socket, no lock file)."""
    for number in range(917, 999):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            return f":{number}"
    raise AssertionError("no free display number")


def run_until_serving(cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Start `cmd`, expect the serve line, check the server answers; (exit status, stderr)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"TaskChat running at (http://127\.0\.0\.1:\d+)/\?launch=\S+\n", line)
        if not match:
            proc.kill()
            proc.wait(10)
            stderr = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"no serve line (exit {proc.returncode}): {line!r}\n{stderr}")
        with urllib.request.urlopen(match.group(1) + "/api/health", timeout=10) as r:
            assert r.status == 200
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    return code, proc.stderr.read() if proc.stderr else ""


def broken_library_dir(tmp_path: Path, name: str = "libxcb-cursor.so.0") -> Path:
    """A folder whose `name` is not a loadable library: put first on LD_LIBRARY_PATH, it
    hides the system's copy from Qt's xcb plugin as if the package were not installed."""
    folder = tmp_path / "hidden-libs"
    folder.mkdir()
    (folder / name).write_bytes(b"")
    return folder


def assert_plain_message(stderr: str, reason: str) -> None:
    assert f"TaskChat can't open its window: {reason}" in stderr, stderr
    assert "taskchat doctor" in stderr
    assert "open the link below in a web browser" in stderr
    assert "Aborted" not in stderr and "core dumped" not in stderr


@pytest.mark.gui
def test_missing_xcb_library_falls_back_to_serve(
    xvfb_display: str,  # noqa: F811
    data_dir: Path,
    tmp_path: Path,
) -> None:
    env = gui_env(
        xvfb_display, data_dir, LD_LIBRARY_PATH=str(broken_library_dir(tmp_path)), **need_qt()
    )
    code, stderr = run_until_serving([sys.executable, "-m", "app"], env)
    assert code == 0
    assert_plain_message(
        stderr, "a system library the window needs is missing or broken: libxcb-cursor.so.0"
    )
    assert "sudo apt install libxcb-cursor0" in stderr
    window_log = (data_dir / "logs" / "window.log").read_text(encoding="utf-8")
    assert "no window: a system library" in window_log


@pytest.mark.parametrize("webview", ["gtk", "qt"])
def test_display_without_x_server_falls_back_to_serve(data_dir: Path, webview: str) -> None:
    display = unused_display()
    env = gui_env(display, data_dir, **(need_qt() if webview == "qt" else {}))
    code, stderr = run_until_serving([sys.executable, "-m", "app"], env)
    assert code == 0
    assert_plain_message(stderr, f"no display answers at DISPLAY={display}")


@pytest.mark.parametrize("webview", ["gtk", "qt"])
def test_self_test_on_a_dead_display_fails_with_one_line(data_dir: Path, webview: str) -> None:
    display = unused_display()
    result = subprocess.run(
        [sys.executable, "-m", "app", "--self-test"],
        env=gui_env(display, data_dir, **(need_qt() if webview == "qt" else {})),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"SELF-TEST FAILED: no display answers at DISPLAY={display}"
    ]


def test_binary_on_a_dead_display_falls_back_to_serve(
    binary: Path,  # noqa: F811
    data_dir: Path,
) -> None:
    display = unused_display()
    code, stderr = run_until_serving([str(binary)], gui_env(display, data_dir))
    assert code == 0
    assert_plain_message(stderr, f"no display answers at DISPLAY={display}")


def test_explanations_name_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":5")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(backend, "_missing_library", lambda: None)
    assert (
        backend.explain_qt_failure("qt.qpa.xcb: could not connect to display :5\n")
        == "no display answers at DISPLAY=:5"
    )
    assert "libxcb-cursor0" in backend.explain_qt_failure(
        "qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt "
        "xcb platform plugin.\n"
    )
    assert backend.explain_qt_failure("qt.qpa.plugin: something new\nmore") == (
        "Qt could not start its display connection (qt.qpa.plugin: something new)"
    )
    monkeypatch.setattr(
        backend, "_missing_library", lambda: ("libxkbcommon-x11.so.0", "cannot open shared object")
    )
    assert "sudo apt install libxkbcommon-x11-0" in backend.explain_qt_failure("")


def test_probe_reaps_its_child_and_reports_success_under_xvfb(
    xvfb_display: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a child process of its own (the probe forks), so this test process stays Qt-free."""
    code = (
        "import os\n"
        "from app.desktop import backend\n"
        "backend.prepare_environment()\n"
        "probe = backend.DisplayProbe.start()\n"
        "print(probe.result())\n"
        "try:\n"
        "    os.waitpid(-1, os.WNOHANG)\n"
        "    print('child left')\n"
        "except ChildProcessError:\n"
        "    print('reaped')\n"
    )
    env = dict(os.environ, DISPLAY=xvfb_display, **need_qt())
    env.pop("QT_QPA_PLATFORM", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.splitlines() == ["None", "reaped"], result.stderr


@pytest.mark.gui
def test_self_test_with_chatkit_required_fails_on_the_builtin_view(
    xvfb_display: str,  # noqa: F811
    data_dir: Path,
) -> None:
    """CI's ChatKit leg requires the real component; here, without OpenAI's CDN, the UI
    falls back to its built-in view, and the required check must say so and fail."""
    env = gui_env(xvfb_display, data_dir, TASKCHAT_SELF_TEST_CHATKIT="require")
    result = subprocess.run(
        [sys.executable, "-m", "app", "--self-test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 1, result.stdout
    assert result.stdout.startswith(
        "SELF-TEST FAILED: AssertionError: ChatKit was required, but the UI shows its builtin"
    ), result.stdout


@pytest.mark.gui
def test_missing_web_engine_library_falls_back_to_serve(
    xvfb_display: str,  # noqa: F811
    data_dir: Path,
    tmp_path: Path,
) -> None:
    """Qt WebEngine's own libraries (NSS here) fail at import, not in Qt's abort path."""
    env = gui_env(
        xvfb_display,
        data_dir,
        LD_LIBRARY_PATH=str(broken_library_dir(tmp_path, "libnss3.so")),
        **need_qt(),
    )
    code, stderr = run_until_serving([sys.executable, "-m", "app"], env)
    assert code == 0
    assert_plain_message(
        stderr, "a system library the window needs is missing or broken: libnss3.so"
    )
    assert "sudo apt install libnss3" in stderr


def test_loader_errors_in_plain_words() -> None:
    assert backend.missing_library_words(
        "libxkbfile.so.1: cannot open shared object file: No such file or directory"
    ) == (
        "a system library the window needs is missing or broken: libxkbfile.so.1 "
        "(cannot open shared object file; on Debian/Ubuntu: sudo apt install libxkbfile1)"
    )
    assert backend.missing_library_words("something else entirely") is None


@pytest.mark.gui
@pytest.mark.parametrize(
    ("library", "package"),
    [
        ("libwebkit2gtk-4.1.so.0", "libwebkit2gtk-4.1-0"),
        ("libjavascriptcoregtk-4.1.so.0", "libjavascriptcoregtk-4.1-0"),
    ],
)
def test_missing_webkitgtk_library_falls_back_to_serve(
    xvfb_display: str,  # noqa: F811
    data_dir: Path,
    tmp_path: Path,
    library: str,
    package: str,
) -> None:
    """WebKitGTK's own library hidden: GObject introspection would only warn and fail later
    with an unrelated message; the window names the library and its package instead."""
    env = gui_env(
        xvfb_display, data_dir, LD_LIBRARY_PATH=str(broken_library_dir(tmp_path, library))
    )
    code, stderr = run_until_serving([sys.executable, "-m", "app"], env)
    assert code == 0
    assert_plain_message(
        stderr, f"a system library the window needs is missing or broken: {library}"
    )
    assert f"sudo apt install {package}" in stderr
    window_log = (data_dir / "logs" / "window.log").read_text(encoding="utf-8")
    assert "no window: a system library" in window_log


def test_missing_typelib_in_plain_words() -> None:
    assert backend.gi_words("Namespace WebKit2 not available for version 4.1") == (
        "the window's web view is not installed: no WebKit2-4.1 typelib"
        "; on Debian/Ubuntu: sudo apt install gir1.2-webkit2-4.1"
    )
    assert backend.gi_words("Namespace Foo not available") == (
        "the window's web view is not installed: no Foo typelib"
    )
    assert backend.gi_words("something odd") == "WebKitGTK could not be loaded (something odd)"


def test_gtk_is_the_linux_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TASKCHAT_WEBVIEW", raising=False)
    assert backend.gui_name() == "gtk"
    monkeypatch.setenv("TASKCHAT_WEBVIEW", "qt")
    assert backend.gui_name() == "qt"
