"""The Linux `.deb` (packaging/linux/build_deb.py), built from the one-dir binary that
scripts/test.sh has just built, installed for real with dpkg, checked, and removed.

Needs root (or password-less sudo) and dpkg; otherwise it skips, unless
TASKCHAT_REQUIRE_BINARY=1 (scripts/test.sh, CI) makes a missing binary a failure. It never
runs where a `taskchat` package is already installed: that would be someone's own copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def test_package_metadata_and_layout(deb: Path) -> None:
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True).stdout
    assert "Package: taskchat\n" in fields
    depends = next(line for line in fields.splitlines() if line.startswith("Depends: "))
    names = [d.split()[0] for d in depends.removeprefix("Depends: ").split(", ")]
    assert names[0] == "libc6"
    # What build.spec leaves to the system (X11, fonts, EGL) is depended on...
    for lib in ("libx11-6", "libfontconfig1", "libegl1"):
        assert lib in names, depends
    # ...every entry is a real package of this system, and nothing in the bundle is.
    for name in names:
        assert subprocess.run(["dpkg-query", "-W", name], capture_output=True).returncode == 0
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True).stdout
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


def test_install_self_test_validate_and_remove(
    deb: Path,
    xvfb_display: str,  # noqa: F811
    data_dir: Path,
) -> None:
    sudo = privileged()
    subprocess.run([*sudo, "dpkg", "-i", str(deb)], check=True, capture_output=True)
    try:
        exe = shutil.which("taskchat", path="/usr/bin")
        assert exe == "/usr/bin/taskchat"
        env = gui_env(xvfb_display, data_dir)
        result = subprocess.run(
            [exe, "--self-test"], env=env, capture_output=True, text=True, timeout=180
        )
        assert result.stdout.startswith("SELF-TEST OK "), result.stdout + result.stderr[-3000:]
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
