"""A private Xvfb display for GUI tests and the desktop benchmark."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator


def have_xvfb() -> bool:
    return shutil.which("Xvfb") is not None


@contextlib.contextmanager
def virtual_display() -> Iterator[str]:
    """Start Xvfb on a display number it chooses itself (-displayfd); yield `:N`."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise FileNotFoundError("Xvfb is not installed (scripts/setup.sh --test installs it)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [exe, "-displayfd", str(write_fd), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as fh:
            number = fh.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not report a display number")
        yield f":{number}"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
