"""`python -m app serve` in its own process for a benchmark: start it, read its URL, stop it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from signal import SIGTERM

import httpx

URL_LINE = re.compile(r"^TaskChat running at (http://127\.0\.0\.1:\d+)/\?launch=(\S+)$")


@contextmanager
def serve(
    env: dict[str, str], *, stderr_to: Path | None = None, cwd: Path | None = None
) -> Iterator[tuple[str, str, subprocess.Popen]]:
    """Yields (base URL, one-time launch URL, process); `env` is the whole environment.

    The server's stderr goes to `stderr_to` (kept for a failed run) or nowhere. `cwd`
    serves another checkout's `app` package (a baseline) with this interpreter."""
    with ExitStack() as stack:
        stderr = stack.enter_context(open(stderr_to, "w")) if stderr_to else subprocess.DEVNULL
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            cwd=cwd,
        )
        try:
            line = proc.stdout.readline().strip()  # type: ignore[union-attr]
            match = URL_LINE.match(line)
            if not match:
                raise RuntimeError(f"serve printed {line!r}")
            yield match.group(1), line.split(" at ", 1)[1], proc
        finally:
            proc.send_signal(SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def session_headers(launch: str) -> dict[str, str]:
    """Opens the launch URL once; the session cookie it sets, as request headers."""
    with httpx.Client() as c:
        r = c.get(launch)
        assert r.status_code == 303, r.status_code
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in c.cookies.items())}
