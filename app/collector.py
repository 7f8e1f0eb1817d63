"""The cyclic garbage collector around start-up: paused while the app imports, then frozen.

Importing the app allocates about a million objects that all stay alive, yet the collector
walks them again and again while they are created (~10% of the import time), and every
later full collection walks them once more (25-130 ms, pauses that land in a streaming
reply). So a taskchat process pauses the collector first (app/boot.py), freezes what
start-up built once it has started (`gc.freeze`: out of every later collection) and then
collects again; what a later one-off import builds (the chat machinery, app/chat/routes.py)
is frozen the same way. The price: the few garbage cycles left from those imports are
frozen with the rest instead of being freed. Outside a taskchat process (tests, scripts)
nothing here acts.
"""

from __future__ import annotations

import gc

_managed = False


def pause() -> None:
    """Pause the collector for the start-up (once per process)."""
    global _managed
    _managed = True
    gc.disable()


def resume() -> int | None:
    """Start-up is over: freeze what it built and collect again. The number of frozen
    objects, or None when the collector was not paused here (or is running already)."""
    if not _managed or gc.isenabled():
        return None
    gc.freeze()
    gc.enable()
    return gc.get_freeze_count()


def freeze_import() -> int | None:
    """After a one-off import that lives as long as the process: freeze what it built."""
    if not _managed:
        return None
    gc.freeze()
    return gc.get_freeze_count()
