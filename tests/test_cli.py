"""The `taskchat` command in a real subprocess: --version, serve, SIGTERM, remote binding."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx

from app import __version__

URL_LINE = re.compile(r"^TaskChat running at http://127\.0\.0\.1:(\d+)/\?launch=([\w-]+)$")


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
        **kwargs,
    )


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"TaskChat {__version__}"


def test_the_parser_every_process_builds_leaves_rich_unloaded():
    """The window builds the same parser: rich (the key commands' output) loads on use."""
    probe = (
        "import sys; from app.cli import build_parser; build_parser()\n"
        "print('rich' in sys.modules)\n"
        "from app.security.cli import _console; _console(sys.stderr)\n"
        "print('rich' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "True"]


def test_serve_answers_health_quickly_and_stops_on_sigterm(data_dir):
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        line = proc.stdout.readline().strip()
        match = URL_LINE.match(line)
        assert match, f"unexpected first line: {line!r}"
        port = int(match.group(1))
        r = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        elapsed = time.monotonic() - start
        # The bound: a cold `serve` answers health within 2 s (generous on CI).
        assert elapsed < 10, f"serve took {elapsed:.1f}s to answer"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        # Exactly one line on stdout.
        assert proc.stdout.read().strip() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (data_dir / "taskchat.db").exists()


def test_serve_refuses_non_loopback_without_flag():
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr
