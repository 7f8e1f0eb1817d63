"""app/boot.py: the GC paused for start-up and resumed after it, in fresh processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def run_python(code: str, data_dir: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"TASKCHAT_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_begin_pauses_the_gc_once_and_started_resumes_it_with_start_up_frozen(
    data_dir: Path,
) -> None:
    out = run_python(
        """
        import gc
        from app import boot
        assert gc.isenabled()
        boot.begin(["serve"])
        print("paused", not gc.isenabled())
        print("no window server", boot.take_window_server() is None)
        gc.enable(); boot.begin(["serve"]); print("begins once", gc.isenabled()); gc.disable()
        before = [g["collections"] for g in gc.get_stats()]
        import app.server  # the server's start-up imports (~200 collections with the GC on)
        print("no collections", [g["collections"] for g in gc.get_stats()] == before)
        boot.started()
        print("resumed", gc.isenabled(), gc.get_freeze_count() > 100_000)
        boot.started()  # a second call changes nothing
        print("still on", gc.isenabled())
        """,
        data_dir,
    )
    assert out.split("\n") == [
        "paused True",
        "no window server True",
        "begins once True",
        "no collections True",
        "resumed True True",
        "still on True",
        "",
    ]


def test_a_short_command_runs_with_the_gc_on(data_dir: Path) -> None:
    out = run_python(
        """
        import gc
        from app.cli import main
        try:
            main(["--version"])  # argparse exits from the middle of main
        except SystemExit:
            pass
        print(gc.isenabled())
        """,
        data_dir,
    )
    assert out.strip().endswith("True")
