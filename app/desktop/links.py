"""Links from the window open in the person's browser, started with their own environment.

pywebview opens a `target=_blank` link (the key page, a release's notes, a link in a
reply) through Python's `webbrowser`, and a browser started that way inherits this
process's environment: the web view's switches (`backend.prepare_environment`: GNOME Web
would run without its JIT or compositing) and, in the PyInstaller build, LD_LIBRARY_PATH
pointing at the bundled libraries (a browser would load TaskChat's copies). The browser
registered here is `xdg-open` (or `gio open`) with both taken back out, and it opens only
web and mail links: a link in a model's reply must not reach another scheme's handler.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import webbrowser
from urllib.parse import urlsplit

from app.desktop import backend

log = logging.getLogger(__name__)

OPENERS = (("xdg-open",), ("gio", "open"))
SCHEMES = frozenset({"http", "https", "mailto"})


def person_env() -> dict[str, str]:
    """This process's environment as it was before TaskChat changed it."""
    env = dict(os.environ)
    for name, before in backend.CHANGED_ENV.items():
        if before is None:
            env.pop(name, None)
        else:
            env[name] = before
    if getattr(sys, "frozen", False):
        # PyInstaller's bootloader keeps the person's value here (absent when they had none).
        original = env.pop("LD_LIBRARY_PATH_ORIG", None)
        if original is None:
            env.pop("LD_LIBRARY_PATH", None)
        else:
            env["LD_LIBRARY_PATH"] = original
    return env


class PersonsBrowser(webbrowser.BaseBrowser):
    """The desktop's default browser (mail client), through xdg-open or gio."""

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in SCHEMES:
            log.warning("not opening a %r link from the window", scheme or "relative")
            return True  # handled: no other browser may open it either
        env = person_env()
        for opener in OPENERS:
            path = shutil.which(opener[0])
            if path is None:
                continue
            try:
                subprocess.Popen(
                    [path, *opener[1:], url],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                log.warning("could not run %s: %s", opener[0], exc)
                continue
            return True
        log.warning("no xdg-open or gio to open a link with")
        return False


def use_persons_browser() -> None:
    """Make `webbrowser.open` (pywebview's way out) use `PersonsBrowser` (Linux)."""
    if sys.platform.startswith("linux"):
        webbrowser.register("taskchat", None, PersonsBrowser("taskchat"), preferred=True)
