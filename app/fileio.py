"""Private (0600) atomic file writes: the one way TaskChat replaces a file in its data folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_private_text(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step; the file is readable by this user only.

    A reader (or a crash mid-write) sees the old file or the new one, never half of one.
    """
    # Unique per process: a `serve` beside the window may write the same file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if os.name == "posix":
            os.chmod(tmp, 0o600)  # O_CREAT keeps the bits of a tmp file an older run left
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_private_json(path: Path, data: Any, *, indent: int | None = None) -> None:
    """`write_private_text` of `data` as JSON."""
    write_private_text(path, json.dumps(data, indent=indent))
