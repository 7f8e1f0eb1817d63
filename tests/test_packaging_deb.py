"""The Linux `.deb` (packaging/linux/build_deb.py), built from the one-dir binary that
scripts/test.sh has just built, installed for real with dpkg, checked, and removed.

Either web view build.spec can carry: Qt WebEngine in the bundle, or the system's
WebKitGTK, which the package must then bring in through its Depends (checked on the
running window: the GTK and WebKitGTK libraries it maps come from the system, from
packages that the package's Depends lead to, never from /opt/taskchat).

Needs root (or password-less sudo) and dpkg; otherwise it skips, unless
TASKCHAT_REQUIRE_BINARY=1 (scripts/test.sh, CI) makes a missing binary a failure. It never
runs where a `taskchat` package is already installed: that would be someone's own copy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.test_desktop_gui import gui_env, xvfb_display  # noqa: F401 (fixture)
from tests.test_packaging_binary import binary  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packaging" / "linux"))

import build_deb  # noqa: E402

pytestmark = [
    pytest.mark.gui,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Debian packages"),
]
APP_ID = build_deb.APP_ID


def privileged() -> list[str]:
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"]).returncode == 0:
        return ["sudo", "-n"]
    pytest.skip("installing a .deb needs root or password-less sudo")


def installed(package: str) -> bool:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
    )
    return result.returncode == 0 and "installed" in result.stdout.split()


@pytest.fixture(scope="module")
def deb(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not available (not a Debian-based system)")
    if installed("taskchat"):
        pytest.skip("a taskchat package is already installed here; not touching it")
    out = tmp_path_factory.mktemp("deb")
    return build_deb.build(binary.parent, out, fast=True, work=ROOT / "build" / "deb-test")


# The GTK/WebKitGTK stack and GLib under it: always the system's in a GTK build.
_SYSTEM_WEBVIEW_LIBS = re.compile(
    r"/lib(webkit2gtk|javascriptcoregtk|gtk-3|gdk-3|soup-3|girepository|glib-2|gobject-2|"
    r"gio-2)[^/]*\.so[^/]*$"
)


def test_package_metadata_and_layout(deb: Path, binary: Path) -> None:  # noqa: F811
    webview = build_deb.webview_of(binary.parent)
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True).stdout
    assert "Package: taskchat\n" in fields
    depends = next(line for line in fields.splitlines() if line.startswith("Depends: "))
    names = [d.split()[0] for d in depends.removeprefix("Depends: ").split(", ")]
    assert names[0] == "libc6"
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True).stdout
    if webview == "qt":
        # What build.spec leaves to the system (X11, fonts, EGL) is depended on.
        for lib in ("libx11-6", "libfontconfig1", "libegl1"):
            assert lib in names, depends
    else:
        # The web view itself (typelibs, which bring GTK and WebKitGTK) and PyGObject's
        # libraries; none of Qt's.
        for package in (
            "gir1.2-gtk-3.0",
            "gir1.2-webkit2-4.1",
            "libwebkit2gtk-4.1-0",
            "libglib2.0-0",
        ):
            assert package in names, depends
        assert not [n for n in names if n.startswith("libxcb") or n == "libegl1"], depends
        assert "/_internal/PySide6/" not in listing
        assert "/_internal/gi/" in listing
        shadowing = [line for line in listing.splitlines() if _SYSTEM_WEBVIEW_LIBS.search(line)]
        assert not shadowing, shadowing
    # Every entry is a real package of this system, and nothing in the bundle is.
    for name in names:
        assert subprocess.run(["dpkg-query", "-W", name], capture_output=True).returncode == 0
    for path in (
        "./opt/taskchat/taskchat",
        "./usr/bin/taskchat -> ../../opt/taskchat/taskchat",
        f"./usr/share/applications/{APP_ID}.desktop",
        f"./usr/share/metainfo/{APP_ID}.metainfo.xml",
        f"./usr/share/icons/hicolor/256x256/apps/{APP_ID}.png",
        f"./usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg",
    ):
        assert path in listing, path
    # No maintainer scripts: removing the package can only remove its own files.
    control = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True)
    for script in ("preinst", "postinst", "prerm", "postrm"):
        assert script not in control.stdout


def installed_dependencies(package: str) -> set[str]:
    """`package` and every installed package its Depends/Pre-Depends lead to, transitively
    (an alternative or a virtual package counts through whichever installed one fits)."""
    rows = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package}\t${Status}\t${Provides}\t${Pre-Depends}\t${Depends}\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    deps: dict[str, list[list[str]]] = {}
    providers: dict[str, set[str]] = {}

    def names(field: str) -> list[list[str]]:
        clauses = [c.strip() for c in field.split(",") if c.strip()]
        return [
            [re.split(r"[\s:(]", alt.strip(), maxsplit=1)[0] for alt in c.split("|")]
            for c in clauses
        ]

    for row in rows:
        name, status, provides, pre, depends = (row.split("\t") + [""] * 5)[:5]
        if not status.endswith(" installed"):
            continue
        deps[name] = names(pre) + names(depends)
        providers.setdefault(name, set()).add(name)
        for virtual in names(provides):
            providers.setdefault(virtual[0], set()).add(name)
    seen: set[str] = set()
    todo = [package]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for clause in deps.get(current, []):
            for alternative in clause:
                todo.extend(providers.get(alternative, ()))
    return seen


def window_libraries(exe: str, env: dict[str, str]) -> tuple[str, set[str]]:
    """(the self-test's output, the shared libraries its window process mapped): the window
    is held open (TASKCHAT_SELF_TEST_HOLD) until the web view's libraries show up."""
    with tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen(
            [exe, "--self-test"],
            env={**env, "TASKCHAT_SELF_TEST_HOLD": "6"},
            stdout=subprocess.PIPE,
            stderr=err_file,
            text=True,
        )
        mapped: set[str] = set()
        deadline = time.monotonic() + 120
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    maps = Path(f"/proc/{proc.pid}/maps").read_text()
                except OSError:
                    break
                mapped = {line.split(None, 5)[5] for line in maps.splitlines() if ".so" in line}
                if any("webkit2gtk" in path or "WebEngineCore" in path for path in mapped):
                    break
                time.sleep(0.2)
            out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err_file.seek(0)
        err = err_file.read()
    assert out.startswith("SELF-TEST OK "), out + err[-3000:]
    return out, mapped


def test_install_self_test_validate_and_remove(
    deb: Path,
    binary: Path,  # noqa: F811
    xvfb_display: str,  # noqa: F811
    data_dir: Path,
) -> None:
    webview = build_deb.webview_of(binary.parent)
    sudo = privileged()
    subprocess.run([*sudo, "dpkg", "-i", str(deb)], check=True, capture_output=True)
    try:
        exe = shutil.which("taskchat", path="/usr/bin")
        assert exe == "/usr/bin/taskchat"
        env = gui_env(xvfb_display, data_dir)
        # Whatever the environment asks for, the installed app opens the web view it carries.
        env["TASKCHAT_WEBVIEW"] = "qt" if webview == "gtk" else "gtk"
        out, mapped = window_libraries(exe, env)
        assert f"backend={webview}" in out, out
        if webview == "gtk":
            stack = [path for path in mapped if _SYSTEM_WEBVIEW_LIBS.search(path)]
            assert any("libwebkit2gtk-4.1" in path for path in stack), sorted(mapped)
            assert not [p for p in stack if p.startswith("/opt/taskchat/")], stack
            # Each of them is installed by a package that taskchat's Depends lead to.
            reachable = installed_dependencies("taskchat")
            for path in stack:
                package = build_deb.owning_package(path)
                assert package in reachable, (path, package)
        desktop = Path(f"/usr/share/applications/{APP_ID}.desktop")
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
        metainfo = Path(f"/usr/share/metainfo/{APP_ID}.metainfo.xml")
        check = subprocess.run(
            ["appstreamcli", "validate", "--no-net", str(metainfo)], capture_output=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        subprocess.run([*sudo, "dpkg", "-P", "taskchat"], check=True, capture_output=True)
    assert not Path("/opt/taskchat").exists()
    assert not Path("/usr/bin/taskchat").exists()
    # The person's data stays: the folder the installed app used, with its database.
    assert (data_dir / "taskchat.db").is_file()
    assert (data_dir / "profile.json").is_file()
