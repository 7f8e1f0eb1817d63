"""Builds the Linux `.deb` from the one-dir build (dist/onedir/taskchat).

    python packaging/linux/build_deb.py [--onedir DIR] [--out DIR] [--fast]

Layout: the app under /opt/taskchat, `taskchat` on the PATH (/usr/bin symlink), a desktop
entry, hicolor icons and AppStream metainfo. Depends: is computed, not hand-kept: every
shared library the bundle needs but does not carry (build.spec leaves X11, fonts, sound and
the C/C++ runtimes to the system) is looked up with `dpkg -S` on the build machine, so the
names are right for the distribution the package is built on (e.g. libasound2t64 on
Ubuntu 24.04). A build on the system's WebKitGTK (build.spec's `gtk` web view: the bundle
carries PyGObject but no GTK) also depends on the packages of the typelibs it loads
(GTK_TYPELIBS) and of the libraries it opens itself (GTK_DLOPENED): no DT_NEEDED entry
names those.
The package has no maintainer scripts: removing or purging it never touches
anyone's data folder (~/.local/share/TaskChat) or keyring entries. dpkg's own triggers
refresh the icon cache and the desktop database.

Writes dist/taskchat_<version>_<arch>.deb and a .sha256 next to it; prints the .deb's path.
`--fast` does not compress (for tests); releases use xz.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import __version__  # noqa: E402

APP_ID = "io.github.taskchat.TaskChat"
PACKAGE = "taskchat"
PREFIX = Path("opt/taskchat")
HERE = Path(__file__).resolve().parent
ICONS = ROOT / "packaging" / "icons"
MAINTAINER = "TaskChat developers <taskchat@users.noreply.github.com>"
# Libraries every Debian system has (Essential: yes / Priority: required); no Depends needed.
_ALWAYS_THERE = {"libc6", "libgcc-s1", "libcrypt1", "zlib1g"}
# GObject-introspection namespaces the GTK web view loads at run time (pywebview's GTK
# backend: Gtk 3 and WebKit2 4.1, which pull in Gdk, Soup 3, JavaScriptCore, GLib, Gio).
GTK_TYPELIBS = ("Gtk-3.0", "WebKit2-4.1")
# Libraries the GTK window opens itself with ctypes (no DT_NEEDED entry names them):
# app/desktop/backend.py checks WebKitGTK's before GObject introspection loads them, and
# the tray asks libX11 whether an XEmbed tray is there.
GTK_DLOPENED = (
    "libgtk-3.so.0",
    "libwebkit2gtk-4.1.so.0",
    "libjavascriptcoregtk-4.1.so.0",
    "libX11.so.6",
)
# Used when there: the tray's StatusNotifier icon (without it, GTK's XEmbed icon or none).
GTK_RECOMMENDED_TYPELIBS = ("AyatanaAppIndicator3-0.1",)
BASE_RECOMMENDS = ["gnome-keyring | kwalletmanager", "xdg-utils"]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def deb_arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _elf_files(tree: Path) -> list[Path]:
    found = []
    for path in sorted(tree.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def needed_sonames(tree: Path) -> set[str]:
    """Every DT_NEEDED of the bundle's ELF files (readelf, from binutils)."""
    needed: set[str] = set()
    files = [str(p) for p in _elf_files(tree)]
    for start in range(0, len(files), 200):
        out = subprocess.run(
            ["readelf", "-d", "-W", *files[start : start + 200]],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        needed.update(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
    return needed


def system_library_paths() -> dict[str, str]:
    """soname -> path for the native architecture, from the dynamic linker's cache."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    native = "x86-64" if platform.machine() == "x86_64" else None
    paths: dict[str, str] = {}
    for line in out.splitlines()[1:]:
        match = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if not match:
            continue
        soname, flags, path = match.groups()
        if native and native not in flags and platform.machine() == "x86_64":
            continue
        paths.setdefault(soname, path)
    return paths


def owning_package(path: str) -> str | None:
    for candidate in (path, os.path.realpath(path)):
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def glibc_version() -> str:
    name, version = platform.libc_ver()
    return version if name == "glibc" and version else "2.31"


def webview_of(tree: Path) -> str:
    """The Linux web view a one-dir build carries: `gtk` when it has PyGObject (and uses
    the system's WebKitGTK), else `qt` (Qt WebEngine in the bundle)."""
    return "gtk" if (tree / "_internal" / "gi").is_dir() else "qt"


def typelib_packages(namespaces: tuple[str, ...] = GTK_TYPELIBS) -> tuple[list[str], list[str]]:
    """(packages, namespaces not found): who installs each typelib on this system."""
    libdirs = sorted(
        {str(Path(p).parent) for p in system_library_paths().values()}
        | {"/usr/lib", f"/usr/lib/{platform.machine()}-linux-gnu"}
    )
    packages: set[str] = set()
    missing: list[str] = []
    for namespace in namespaces:
        found = [
            Path(d, "girepository-1.0", f"{namespace}.typelib")
            for d in libdirs
            if Path(d, "girepository-1.0", f"{namespace}.typelib").is_file()
        ]
        package = owning_package(str(found[0])) if found else None
        if package is None:
            missing.append(namespace)
        else:
            packages.add(package)
    return sorted(packages), missing


def compute_depends(tree: Path) -> tuple[list[str], list[str]]:
    """(Depends entries, sonames and typelibs nobody provides here) for the bundle."""
    bundled = {p.name for p in tree.rglob("*.so*")}
    system = system_library_paths()
    packages: set[str] = set()
    unknown: list[str] = []
    wanted = needed_sonames(tree)
    if webview_of(tree) == "gtk":
        wanted |= set(GTK_DLOPENED)
    for soname in sorted(wanted - bundled):
        path = system.get(soname)
        package = owning_package(path) if path else None
        if package is None:
            unknown.append(soname)
        elif package not in _ALWAYS_THERE:
            packages.add(package)
    if webview_of(tree) == "gtk":
        gir, missing = typelib_packages()
        packages.update(gir)
        unknown += [f"{namespace}.typelib" for namespace in missing]
    return [f"libc6 (>= {glibc_version()})", *sorted(packages)], unknown


def _normalise_modes(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        wanted = 0o755 if path.is_dir() or mode & 0o111 else 0o644
        # Only when it differs: the staged files are hard links to the build's, and a
        # needless chmod changes their ctime, which makes a tar reading them meanwhile fail.
        if mode & 0o7777 != wanted:
            path.chmod(wanted)


def _link_or_copy(src: str, dst: str) -> None:
    """Hard links when the build is on the same file system: no 380 MB copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def stage(onedir: Path, root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(onedir, root / PREFIX, symlinks=True, copy_function=_link_or_copy)
    # Qt WebEngine creates this (empty) folder at its first start when it is missing; as
    # part of the package, it leaves with the package instead of staying behind in /opt.
    resources = root / PREFIX / "_internal" / "PySide6" / "Qt" / "resources"
    if resources.is_dir():
        (resources / "locales").mkdir(exist_ok=True)
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "taskchat").symlink_to(Path("..", "..", PREFIX, "taskchat"))
    apps = root / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    shutil.copy2(HERE / f"{APP_ID}.desktop", apps / f"{APP_ID}.desktop")
    hicolor = root / "usr" / "share" / "icons" / "hicolor"
    for size in (256, 512):
        target = hicolor / f"{size}x{size}" / "apps"
        target.mkdir(parents=True)
        shutil.copy2(ICONS / f"taskchat-{size}.png", target / f"{APP_ID}.png")
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copy2(ICONS / "taskchat.svg", hicolor / "scalable" / "apps" / f"{APP_ID}.svg")
    metainfo = root / "usr" / "share" / "metainfo"
    metainfo.mkdir(parents=True)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    text = (HERE / f"{APP_ID}.metainfo.xml").read_text(encoding="utf-8")
    text = text.replace("@VERSION@", __version__).replace("@DATE@", today)
    (metainfo / f"{APP_ID}.metainfo.xml").write_text(text, encoding="utf-8")
    doc = root / "usr" / "share" / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: TaskChat\n\nFiles: *\nCopyright: The TaskChat developers\n"
        "License: MIT\n",
        encoding="utf-8",
    )


def compute_recommends(tree: Path) -> list[str]:
    recommends = list(BASE_RECOMMENDS)
    if webview_of(tree) == "gtk":
        packages, missing = typelib_packages(GTK_RECOMMENDED_TYPELIBS)
        recommends += packages
        if missing:
            print(f"note: not recommending {', '.join(missing)} (not installed here)")
    return recommends


def write_control(root: Path, depends: list[str], recommends: list[str]) -> None:
    size_kib = (
        sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    )
    control = root / "DEBIAN" / "control"
    control.parent.mkdir(parents=True)
    control.write_text(
        f"Package: {PACKAGE}\n"
        f"Version: {__version__}\n"
        f"Architecture: {deb_arch()}\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {size_kib}\n"
        f"Depends: {', '.join(depends)}\n"
        f"Recommends: {', '.join(recommends)}\n"
        "Section: utils\n"
        "Priority: optional\n"
        "Homepage: https://github.com/taskchat/taskchat\n"
        "Description: manage your tasks by chatting with Gemini\n"
        " TaskChat is a desktop task list you talk to. Tasks and chats stay in a local\n"
        " database on this computer; the Gemini API key is kept in the system keyring.\n"
        " Removing the package leaves your data folder and keyring entries alone.\n",
        encoding="utf-8",
    )


def build(onedir: Path, out_dir: Path, *, fast: bool = False, work: Path | None = None) -> Path:
    if not (onedir / "taskchat").is_file():
        raise SystemExit(f"{onedir}/taskchat is missing: run packaging/build.sh onedir first")
    root = (work or ROOT / "build" / "deb") / "root"
    stage(onedir, root)
    depends, unknown = compute_depends(root / PREFIX)
    if webview_of(root / PREFIX) == "gtk" and any(u.endswith(".typelib") for u in unknown):
        # Without them the package would install and then have no window at all.
        raise SystemExit(
            f"no installed package provides {', '.join(unknown)}: the GTK build's Depends "
            "cannot be named (Debian/Ubuntu: apt install gir1.2-gtk-3.0 gir1.2-webkit2-4.1)"
        )
    if unknown:
        print(f"note: no installed package provides {', '.join(unknown)}", file=sys.stderr)
    write_control(root, depends, compute_recommends(root / PREFIX))
    # After the control file: the process umask may be 077 (app/db/engine.py sets it), and
    # dpkg-deb refuses a DEBIAN folder that is not 0755.
    _normalise_modes(root)
    root.chmod(0o755)
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"{PACKAGE}_{__version__}_{deb_arch()}.deb"
    compression = ["-Znone"] if fast else ["-Zxz", "-z6"]
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", *compression, "--build", str(root), str(deb)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    checksum = deb.with_name(deb.name + ".sha256")
    checksum.write_text(f"{sha256_file(deb)}  {deb.name}\n", encoding="utf-8")
    return deb


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onedir", type=Path, default=ROOT / "dist" / "onedir" / "taskchat")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--fast", action="store_true", help="no compression (tests)")
    args = parser.parse_args(argv)
    print(build(args.onedir, args.out, fast=args.fast))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
