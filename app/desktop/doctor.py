"""`taskchat doctor`: what this computer gives TaskChat, checked and explained in plain words."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from app.config import Settings

Level = Literal["ok", "note", "problem"]
_LABEL = {"ok": "OK", "note": "NOTE", "problem": "PROBLEM"}
GEMINI_TIMEOUT_S = 10.0
SYNC_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Finding:
    topic: str
    level: Level
    text: str
    fix: str = ""


def check_display() -> list[Finding]:
    """The display, the web view backend, and whether the toolkit can really open it."""
    from app.desktop import backend

    name = backend.gui_name()
    view = {
        "gtk": "the system WebKitGTK through PyGObject",
        "qt": "Qt WebEngine through PySide6",
        "edgechromium": "Microsoft Edge WebView2",
        "cocoa": "the system WebKit (WKWebView)",
    }.get(name, name)
    problem = backend.display_problem()
    if problem:
        return [
            Finding(
                "Display",
                "problem",
                f"{problem}. The window cannot open; `taskchat` starts the server instead "
                "and prints a link to open in a browser.",
                "Run TaskChat in a desktop session, or use `taskchat serve`.",
            )
        ]
    backend.prepare_environment()
    probe = backend.DisplayProbe.start()
    import_problem = backend.import_problem()
    display_problem = probe.result() if probe is not None else None
    opened = probe is not None
    if name == "gtk":
        # GTK opens the display in this process (Gtk.init_check), after loading WebKitGTK.
        opened = import_problem is None
        if import_problem and import_problem.startswith("no display answers"):
            display_problem, import_problem = import_problem, None
    findings: list[Finding] = []
    if display_problem:
        fix = "Install the missing package, then run `taskchat doctor` again."
        if "no display answers" in display_problem:
            fix = "Check that DISPLAY names your running desktop session."
        findings.append(Finding("Display", "problem", display_problem + ".", fix))
    else:
        where = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")
        state = "opens" if opened else "is expected to be there"
        findings.append(Finding("Display", "ok", f"the display{_at(where)} {state}."))
    if import_problem:
        findings.append(
            Finding(
                "Web view",
                "problem",
                f"{import_problem}.",
                "Install the missing package, then run `taskchat doctor` again."
                if "apt install" in import_problem
                else "Reinstall TaskChat; from source: `pip install -e .` in the project folder.",
            )
        )
    else:
        version = _webkit_version() if name == "gtk" else ""
        findings.append(Finding("Web view", "ok", f"{view}{version} (pywebview's {name} backend)."))
    return findings


def _webkit_version() -> str:
    # GTK only here: import_problem() loaded it already
    from gi.repository import WebKit2

    major, minor = WebKit2.get_major_version(), WebKit2.get_minor_version()
    return f" {major}.{minor}.{WebKit2.get_micro_version()}"


def _at(where: str | None) -> str:
    return f" ({where})" if where else ""


def check_keyring(settings: Settings) -> list[Finding]:
    from app.security import keystore

    info, status = keystore.gemini_key_info(settings)
    findings: list[Finding] = []
    if status.available:
        findings.append(Finding("Keyring", "ok", f"{status.backend} is available."))
    else:
        level: Level = "note" if info.set else "problem"
        findings.append(
            Finding(
                "Keyring",
                level,
                f"no usable keyring ({status.backend}): {status.message}",
                "On Linux, log in to a desktop session with GNOME Keyring or KWallet, or "
                "set GEMINI_API_KEY; `taskchat key set --plaintext-file` stores the key in "
                "an unencrypted file instead.",
            )
        )
    return findings


def check_data_folder(settings: Settings) -> list[Finding]:
    folder = settings.data_dir
    if not folder.exists():
        parent = next((p for p in folder.parents if p.exists()), None)
        if parent is not None and os.access(parent, os.W_OK | os.X_OK):
            return [Finding("Data folder", "ok", f"{folder} will be created at the first start.")]
        return [
            Finding(
                "Data folder",
                "problem",
                f"{folder} does not exist and cannot be created (no write access to {parent}).",
                "Set TASKCHAT_DATA_DIR to a folder you can write to.",
            )
        ]
    if not folder.is_dir():
        return [
            Finding(
                "Data folder",
                "problem",
                f"{folder} is not a folder.",
                "Move that file away or set TASKCHAT_DATA_DIR.",
            )
        ]
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        return [
            Finding(
                "Data folder",
                "problem",
                f"{folder} is not readable and writable by you.",
                f"Fix its owner or permissions (e.g. chmod 700 {folder}).",
            )
        ]
    findings = [Finding("Data folder", "ok", f"{folder} is writable.")]
    if os.name == "posix":
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & 0o077:
            findings.append(
                Finding(
                    "Data folder",
                    "problem",
                    f"{folder} is open to other users (mode {mode:o}); your tasks and chats "
                    "should be readable by you only.",
                    f"chmod 700 {folder}",
                )
            )
        exposed = sorted(
            p.name
            for p in folder.iterdir()
            if p.is_file() and stat.S_IMODE(p.stat().st_mode) & 0o077
        )
        if exposed:
            findings.append(
                Finding(
                    "Data folder",
                    "problem",
                    f"files readable by other users: {', '.join(exposed)}.",
                    f"chmod 600 {' '.join(str(folder / n) for n in exposed)}",
                )
            )
    return findings


def check_gemini(settings: Settings) -> list[Finding]:
    """Whether Gemini answers and accepts the key; the key itself is never shown."""
    from app.security import keystore

    info, _status = keystore.gemini_key_info(settings)
    key = keystore.load_gemini_key(settings, fresh=True) if info.set else None
    where = {
        "env": "the GEMINI_API_KEY variable",
        "keyring": "the keyring",
        "file": "the plaintext key file",
    }
    base = settings.gemini_base_url
    if not key:
        reachable = _reachable(base.rstrip("/") + "/models")
        findings = [
            Finding(
                "Gemini key",
                "problem",
                "no Gemini API key is set; chat cannot answer without one.",
                "Run `taskchat key set` (get a key at https://aistudio.google.com/apikey).",
            )
        ]
        if reachable is None:
            findings.append(Finding("Gemini", "ok", f"{base} answers."))
        else:
            findings.append(_offline(base, reachable))
        return findings
    from app.api.settings_routes import check_key

    result = check_key(settings, key)
    source = where.get(info.source or "", "somewhere")
    if result.status == "offline":
        return [
            _offline(base, "no connection"),
            Finding("Gemini key", "note", f"set, in {source}; not checked (Gemini unreachable)."),
        ]
    if result.status == "valid":
        return [
            Finding("Gemini", "ok", f"{base} answers."),
            Finding("Gemini key", "ok", f"set, in {source}; {result.message}"),
        ]
    if result.status == "rejected":
        return [
            Finding("Gemini", "ok", f"{base} answers."),
            Finding(
                "Gemini key",
                "problem",
                f"the key in {source} was rejected by Gemini.",
                "Copy the whole key from Google AI Studio and run `taskchat key set` again.",
            ),
        ]
    return [Finding("Gemini", "problem", f"{base}: {result.message}")]


def _offline(base: str, why: str) -> Finding:
    return Finding(
        "Gemini",
        "problem",
        f"cannot reach {base} ({why}). TaskChat works offline, but chat needs Gemini.",
        "Check the internet connection (and GEMINI_BASE_URL if you set it).",
    )


def _reachable(url: str) -> str | None:
    """None when the server answers at all (any HTTP status), else why not."""
    import httpx2

    try:
        with httpx2.Client(timeout=GEMINI_TIMEOUT_S, follow_redirects=False) as http:
            http.get(url)
    except httpx2.HTTPError as exc:
        return type(exc).__name__
    return None


def check_sync(settings: Settings) -> list[Finding]:
    from app.sync.runtime import sync_off_reason
    from app.sync.settings import describe_url, load_sync_url

    reason = sync_off_reason(settings)
    if reason:
        return [Finding("Sync", "ok", reason)]
    url, _source = load_sync_url(settings)
    assert url
    target = describe_url(url)
    try:
        asyncio.run(_ping_postgres(url))
    except Exception as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return [
            Finding(
                "Sync",
                "problem",
                f"cannot connect to {target}: {type(exc).__name__}: {detail}",
                "Check the URL (`taskchat sync --set-url`) and the network; Neon databases "
                "may take a few seconds to wake up.",
            )
        ]
    return [Finding("Sync", "ok", f"connected to {target}.")]


async def _ping_postgres(url: str) -> None:
    from app.db.postgres import connect

    conn = await asyncio.wait_for(
        connect(url, attempts=1, timeout=SYNC_TIMEOUT_S), SYNC_TIMEOUT_S + 1
    )
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


CHECKS: tuple[Callable[[Settings], list[Finding]], ...] = (
    lambda _s: check_display(),
    check_keyring,
    check_data_folder,
    check_gemini,
    check_sync,
)


def run(settings: Settings, out: TextIO | None = None) -> int:
    """Prints every finding; 1 when any is a problem, else 0."""
    from app import __version__

    out = out or sys.stdout
    print(
        f"TaskChat {__version__} doctor ({sys.platform}; data folder {settings.data_dir})", file=out
    )
    problems = 0
    for check in CHECKS:
        try:
            findings = check(settings)
        except Exception as exc:  # a broken check is itself a finding, not a crash
            findings = [Finding("Check", "problem", f"{type(exc).__name__}: {exc}")]
        for finding in findings:
            problems += finding.level == "problem"
            print(f"{_LABEL[finding.level]:<8}{finding.topic}: {finding.text}", file=out)
            if finding.fix and finding.level != "ok":
                print(f"{'':<8}-> {finding.fix}", file=out)
            out.flush()
    if problems:
        print(f"{problems} problem(s) found.", file=out)
        return 1
    print("Everything TaskChat needs is here.", file=out)
    return 0
