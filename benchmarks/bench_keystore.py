"""The Gemini key lookup each chat turn makes: python -m benchmarks.bench_keystore.

Two figures, in one process, on one stored key:
  read from the store   `load_gemini_key(fresh=True)`, what every turn paid before the key
                        was kept in memory: with a Secret Service, a D-Bus round trip with
                        a DH key exchange
  kept in memory        `cached_gemini_key`, what a turn pays now (two `stat` calls that
                        show whether the key was stored or cleared since)

Without a D-Bus session bus this script re-runs itself inside `dbus-run-session` with an
unlocked gnome-keyring (the same set-up as `make test`), so the figure is for a real
Secret Service; where neither exists it measures the plaintext-file store and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.report import Figure, print_table, write_json

ROOT = Path(__file__).resolve().parents[1]
KEY = "AIza" + "SyBENCH-not-a-real-key-0123456789abcdef"[:35]
UNLOCK = "echo -n taskchat-bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null"


def _in_keyring_session(argv: list[str]) -> dict:
    """This script again, inside a private D-Bus session with an unlocked gnome-keyring;
    the figures it measured."""
    with tempfile.TemporaryDirectory(prefix="taskchat-bench-keyring-") as home:
        emitted = Path(home) / "figures.json"
        script = f'{UNLOCK}; exec "$0" -m benchmarks.bench_keystore "$@"'
        done = subprocess.run(
            ["dbus-run-session", "--", "sh", "-c", script, sys.executable, *argv,
             "--emit", str(emitted)],
            cwd=ROOT,
            env={**os.environ, "XDG_DATA_HOME": home},
            check=False,
        )  # fmt: skip
        if done.returncode != 0 or not emitted.is_file():
            raise SystemExit("bench_keystore failed inside its D-Bus session")
        return json.loads(emitted.read_text(encoding="utf-8"))


def _timed(fn: Callable[[], object], runs: int, scale: float) -> list[float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * scale)
    return samples


def measure(runs: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="taskchat-bench-") as data_dir:
        os.environ["TASKCHAT_DATA_DIR"] = data_dir
        os.environ.pop("GEMINI_API_KEY", None)
        if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            os.environ["TASKCHAT_KEYRING_BACKEND"] = "secretservice"
        from app.config import Settings
        from app.security import keystore

        settings = Settings()
        where = keystore.store_gemini_key(settings, KEY, allow_plaintext_file=True)
        store = "Secret Service (gnome-keyring)" if where == "keyring" else "plaintext file"
        try:
            read = _timed(lambda: keystore.load_gemini_key(settings, fresh=True), runs, 1e3)
            kept = _timed(lambda: keystore.cached_gemini_key(settings), runs * 10, 1e6)
            if keystore.cached_gemini_key(settings) != KEY:
                raise RuntimeError("the key was not kept in memory")
        finally:
            keystore.clear_gemini_key(settings)
    return [
        Figure("Gemini key read from the store", read, note=store),
        Figure("Gemini key kept in memory", kept, unit="µs", note="what a chat turn pays"),
    ]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="tiny run to check it works")
    # Set by the run above this one, inside the D-Bus session: where to put the figures.
    parser.add_argument("--emit", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    runs = 5 if args.quick else args.runs
    if (
        args.emit is None
        and not os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        and shutil.which("dbus-run-session")
        and shutil.which("gnome-keyring-daemon")
    ):
        return _in_keyring_session(["--quick"] if args.quick else ["--runs", str(runs)])
    figures = measure(runs)
    print_table(f"Gemini key lookup ({runs} reads)", figures)
    if not args.quick:
        print(f"written {write_json('keystore', figures, runs=runs)}")
    result = {f.name: f.to_json() for f in figures}
    if args.emit is not None:
        args.emit.write_text(json.dumps(result), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
