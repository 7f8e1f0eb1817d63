"""What every `taskchat` process does first: pause the cyclic GC, start the window's server.

Both serve the window's start-up time (issue: launch -> /api/health <= 1.0 s):

* Importing the app allocates some million objects that all stay alive, which the cyclic
  garbage collector would walk again and again: it is paused until the process has
  started, then what start-up built is frozen (app/collector.py).
* A window launch starts its server child before anything else is loaded. In the binary
  this runs from the first runtime hook (packaging/rthooks/pyi_rth_taskchat_boot.py),
  before PyInstaller's own hooks import inspect, pkgutil and multiprocessing; from source
  it runs at the top of `app.cli.main`.

This module imports nothing heavy. In the one-dir binary it also hands the bundle's imports
to Python's own finder (`use_python_finder_in_bundle`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app import collector

if TYPE_CHECKING:
    from importlib.abc import PathEntryFinder

    from app.desktop.server_process import ServerProcess

log = logging.getLogger(__name__)

_begun = False
_begun_at = 0.0
_window_server: ServerProcess | None = None


def begin(argv: Sequence[str]) -> None:
    """Pause the GC and, for a window launch, start the server child (once per process)."""
    global _begun, _begun_at, _window_server
    if _begun:
        return
    _begun, _begun_at = True, time.monotonic()
    collector.pause()
    # Here, not at the top: the server child imports this module and needs no desktop code.
    from app.desktop.backend import display_problem
    from app.desktop.server_process import is_window_launch, window_server

    if is_window_launch(argv) and display_problem() is None:
        _window_server = window_server()
        _window_server.start()


def use_python_finder_in_bundle(bundle: str) -> bool:
    """Find the one-dir bundle's modules with Python's FileFinder, ahead of PyInstaller's.

    The one-dir build keeps every module as a plain file (build.spec: noarchive; its PYZ
    archive is empty), so PyInstaller's finder only passes each lookup on to a FileFinder it
    builds for each folder on first use. PyInstaller 6.22 builds that one in two steps, and
    a second thread importing from the same folder in between is told the module is not
    there ("No module named 'opentelemetry._logs._internal'", seen once with the server
    importing on its thread). Python's own finder has no such gap, through public hooks.
    Returns False, changing nothing, where the modules are not plain files (one-file).
    """
    from importlib.machinery import (
        BYTECODE_SUFFIXES,
        EXTENSION_SUFFIXES,
        SOURCE_SUFFIXES,
        ExtensionFileLoader,
        FileFinder,
        SourceFileLoader,
        SourcelessFileLoader,
    )

    if not os.path.isfile(os.path.join(bundle, "app", "__init__.pyc")):
        return False
    file_finder = FileFinder.path_hook(
        (ExtensionFileLoader, EXTENSION_SUFFIXES),
        (SourceFileLoader, SOURCE_SUFFIXES),
        (SourcelessFileLoader, BYTECODE_SUFFIXES),
    )
    inside = os.path.join(bundle, "")

    def bundle_folder(path: str) -> PathEntryFinder:
        # Anything outside stays with the usual finders; `file_finder` refuses a zip archive.
        if not (path == bundle or path.startswith(inside)):
            raise ImportError("not in the bundle")
        return file_finder(path)

    sys.path_hooks.insert(0, bundle_folder)
    sys.path_importer_cache.clear()  # folders met before get their finder again
    return True


def take_window_server() -> ServerProcess | None:
    """The server child `begin` started, handed over once (None when there is none)."""
    global _window_server
    server, _window_server = _window_server, None
    return server


def started() -> None:
    """Start-up is over: keep what it built out of later collections, collect again."""
    frozen = collector.resume()
    if frozen is not None:
        log.info(
            "started in %.2f s; garbage collector resumed (%d start-up objects frozen)",
            time.monotonic() - _begun_at,
            frozen,
        )
