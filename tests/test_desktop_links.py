"""Links leave the window through `webbrowser` (as pywebview opens them) with the person's
own environment, and only to web and mail addresses (app/desktop/links.py).

The browser is a stand-in `xdg-open` / `gio` script first on PATH that writes down its
arguments and environment: what a real one would have been started with.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.desktop import backend, links

URL = "https://aistudio.google.com/apikey"


def fake_opener(bin_dir: Path, name: str, out: Path) -> None:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text(
        "#!/bin/sh\n"
        f'{{ for a in "$@"; do echo "arg=$a"; done; /usr/bin/env; }} > "{out}.tmp"\n'
        f'/bin/mv "{out}.tmp" "{out}"\n'
    )
    script.chmod(0o755)


def started_with(out: Path) -> tuple[list[str], dict[str, str]]:
    deadline = time.monotonic() + 10
    while not out.exists():
        assert time.monotonic() < deadline, "the opener was never started"
        time.sleep(0.02)
    args, env = [], {}
    for line in out.read_text().splitlines():
        if line.startswith("arg="):
            args.append(line[4:])
        elif "=" in line:
            key, _, value = line.partition("=")
            env[key] = value
    return args, env


def test_the_window_s_links_open_without_its_web_view_switches_or_bundle(
    tmp_path: Path,
) -> None:
    """In a process of its own, as the window: the web view gets its switches, the
    browser that `webbrowser.open` starts does not, and PyInstaller's LD_LIBRARY_PATH
    gives way to the person's own (LD_LIBRARY_PATH_ORIG)."""
    out = tmp_path / "started"
    fake_opener(tmp_path / "bin", "xdg-open", out)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JSC_", "WEBKIT_"))}
    env.update(
        PATH=f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}",
        TASKCHAT_WEBVIEW="gtk",
        LD_LIBRARY_PATH="/opt/taskchat/_internal",
        LD_LIBRARY_PATH_ORIG="/home/me/lib",
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    env.pop("TASKCHAT_WEBKIT_JIT", None)
    code = (
        "import os, sys, webbrowser\n"
        "sys.frozen = True  # as in the PyInstaller build\n"
        "from app.desktop import backend, links\n"
        "backend.prepare_environment()\n"
        "print(os.environ['JSC_useJIT'], os.environ['WEBKIT_DISABLE_COMPOSITING_MODE'])\n"
        "links.use_persons_browser()\n"
        f"print(webbrowser.open({URL!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["0", "1", "True"], result.stderr
    args, started = started_with(out)
    assert args == [URL]
    for name in ("JSC_useJIT", "WEBKIT_DISABLE_COMPOSITING_MODE", "PYWEBVIEW_GUI"):
        assert name not in started, name
    assert started["LD_LIBRARY_PATH"] == "/home/me/lib"
    assert "LD_LIBRARY_PATH_ORIG" not in started
    assert started["TASKCHAT_WEBVIEW"] == "gtk"  # everything else is passed on


@pytest.fixture
def window_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This process's environment as `prepare_environment` leaves it, put back after."""
    monkeypatch.setattr(backend, "CHANGED_ENV", {})
    switches = ("PYWEBVIEW_GUI", "JSC_useJIT", "TASKCHAT_WEBKIT_JIT", "TASKCHAT_WEBKIT_COMPOSITING")
    for name in switches:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TASKCHAT_WEBVIEW", "gtk")
    monkeypatch.setenv("WEBKIT_DISABLE_COMPOSITING_MODE", "0")  # the person's own
    monkeypatch.setenv("LD_LIBRARY_PATH", "/home/me/lib")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    backend.prepare_environment()
    return tmp_path / "started"


def test_the_person_s_own_settings_are_kept_for_the_web_view_and_the_browser(
    window_env: Path,
) -> None:
    fake_opener(window_env.parent / "bin", "xdg-open", window_env)
    assert os.environ["WEBKIT_DISABLE_COMPOSITING_MODE"] == "0"
    assert os.environ["JSC_useJIT"] == "0"
    assert links.PersonsBrowser("t").open("mailto:me@example.org") is True
    args, started = started_with(window_env)
    assert args == ["mailto:me@example.org"]
    assert started["WEBKIT_DISABLE_COMPOSITING_MODE"] == "0"
    assert "JSC_useJIT" not in started
    assert started["LD_LIBRARY_PATH"] == "/home/me/lib"  # not frozen: nothing to undo


def test_gio_opens_links_where_there_is_no_xdg_open(window_env: Path) -> None:
    fake_opener(window_env.parent / "bin", "gio", window_env)
    assert links.PersonsBrowser("t").open(URL) is True
    assert started_with(window_env)[0] == ["open", URL]


def test_without_an_opener_the_next_browser_is_asked(window_env: Path) -> None:
    (window_env.parent / "bin").mkdir()
    assert links.PersonsBrowser("t").open(URL) is False


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "smb://attacker.example/share",
        "vscode://file/home/me/.bashrc",
        "/relative/path",
    ],
)
def test_links_to_other_schemes_are_not_opened_by_anyone(window_env: Path, url: str) -> None:
    fake_opener(window_env.parent / "bin", "xdg-open", window_env)
    assert links.PersonsBrowser("t").open(url) is True  # handled: no other browser tries
    time.sleep(0.3)
    assert not window_env.exists()
