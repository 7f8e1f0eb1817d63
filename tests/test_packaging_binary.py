"""The built one-dir binary (packaging/build.sh onedir): contents, --version, `serve`
smoke test against the fake Gemini, the key in the real Secret Service, and --self-test
with a screenshot of the real window.

scripts/test.sh builds the binary first and sets TASKCHAT_REQUIRE_BINARY=1, so a missing
binary fails there; in a plain `pytest` run without a build these tests skip.
TASKCHAT_BINARY points at another build (e.g. the one-file binary).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app import __version__
from tests import packaging_scripts
from tests.test_desktop_gui import gui_env, png_size, xvfb_display  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parent.parent
ONEDIR = ROOT / "dist" / "onedir" / "taskchat"
EXE = "taskchat.exe" if sys.platform == "win32" else "taskchat"
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def binary() -> Path:
    path = Path(os.environ.get("TASKCHAT_BINARY") or ONEDIR / EXE)
    if not path.is_file():
        if os.environ.get("TASKCHAT_REQUIRE_BINARY") == "1":
            pytest.fail(f"{path} was not built (packaging/build.sh onedir)")
        pytest.skip(f"no binary at {path}: run packaging/build.sh onedir")
    return path


def test_version(binary: Path) -> None:
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip() == f"TaskChat {__version__}"


def test_bundle_contents(binary: Path) -> None:
    internal = binary.parent / "_internal"
    if not internal.is_dir():
        pytest.skip("not a one-dir build")
    migrations = internal / "app" / "migrations"
    assert (migrations / "env.py").is_file()
    assert (migrations / "script.py.mako").is_file()
    shipped = {p.name for p in (migrations / "versions").glob("*.py")}
    source = {p.name for p in (ROOT / "app" / "migrations" / "versions").glob("*.py")}
    assert source <= shipped, f"migrations missing from the bundle: {source - shipped}"
    assert (internal / "webui" / "dist" / "index.html").is_file()
    assert list((internal / "webview" / "js").glob("*.js"))
    if sys.platform.startswith("linux") and webview_of(binary) == "qt":
        qt = internal / "PySide6" / "Qt"
        assert (qt / "libexec" / "QtWebEngineProcess").is_file()
        assert (qt / "resources" / "qtwebengine_resources.pak").is_file()
        locales = sorted(p.name for p in (qt / "translations" / "qtwebengine_locales").iterdir())
        assert locales == ["en-US.pak"]
        assert not (qt / "qml").exists()
        assert_icu_data_trimmed(qt / "lib")
    elif sys.platform.startswith("linux"):
        assert_system_webkitgtk(internal)
    # Development tools never reach the bundle (pydantic's mypy plugin once pulled mypy in).
    for unwanted in ("PyQt5", "PyQt6", "PySide2", "mypy", "_pytest", "pytest"):
        assert not (internal / unwanted).exists(), unwanted


def webview_of(binary: Path) -> str:
    """`gtk` when the build carries PyGObject for the system's WebKitGTK, else `qt`."""
    return "gtk" if (binary.parent / "_internal" / "gi").is_dir() else "qt"


def assert_system_webkitgtk(internal: Path) -> None:
    """A build on the system's WebKitGTK: PyGObject's Python side and nothing of Qt, GTK,
    WebKitGTK or GLib, whose libraries and typelibs must be the system's (a bundled copy
    would shadow them through LD_LIBRARY_PATH, in WebKit's own processes too)."""
    assert list((internal / "gi").glob("_gi.*.so"))
    assert list((internal / "gi" / "overrides").glob("Gtk.*"))  # imported by name
    for unwanted in ("PySide6", "shiboken6", "gi_typelibs", "share", "lib"):
        assert not (internal / unwanted).exists(), unwanted
    shadowing = [
        p.name
        for p in internal.rglob("lib*.so*")
        if p.name.startswith(
            (
                "libgtk",
                "libgdk",
                "libwebkit",
                "libjavascriptcore",
                "libsoup",
                "libglib",
                "libgobject",
                "libgio",
                "libgirepository",
                "libQt6",
            )
        )
    ]
    assert not shadowing, shadowing


def assert_icu_data_trimmed(lib: Path) -> None:
    """Qt Core's ICU data is the trimmed one (packaging/icu_trim.py): its locale bundles
    and normalisation data are there, codec tables and display names are not."""
    icu_trim = packaging_scripts.load("icu_trim")
    if icu_trim.missing_tools():
        pytest.skip(f"cannot inspect ICU data without {icu_trim.missing_tools()}")
    (library,) = lib.glob("libicudata.so.*")
    symbol, package = icu_trim.extract_package(library)
    with tempfile.TemporaryDirectory() as tmp:
        dat = Path(tmp) / f"{symbol.removesuffix('_dat')}l.dat"
        dat.write_bytes(package)
        items = subprocess.run(
            ["icupkg", "-l", str(dat)], capture_output=True, text=True, check=True
        ).stdout.split()
    assert "root.res" in items and "en.res" in items and "uts46.nrm" in items
    assert not [i for i in items if i.endswith(".cnv") or i.startswith(("coll/", "zone/"))]
    assert library.stat().st_size < 8 * 2**20


def test_serve_smoke_test(binary: Path) -> None:
    """Health plus one chat turn over /api/chatkit against the fake Gemini."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "smoke_test.py"), str(binary)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert result.stdout.startswith("SMOKE OK "), result.stdout


@pytest.mark.keyring
def test_key_kept_in_secret_service(binary: Path, data_dir: Path) -> None:
    """The frozen keyring stack (keyring, SecretStorage, jeepney, cryptography's DH session)
    stores the key in the real gnome-keyring, and the binary's chat turn sends that key."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the Secret Service is Linux's key store")
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.skip("no D-Bus session bus: run the suite with `make test`")
    from keyring.backends import SecretService

    from app.config import Settings
    from app.security import keystore
    from app.security.keyrings import SERVICE
    from tests.fakes.gemini import FakeGemini, Text
    from tests.test_keyring_e2e import forget_stored_secrets

    smoke = packaging_scripts.load("smoke_test")
    key = "AIza" + "SyBinaryKeyring-0123456789abcdefghijk"[:35]
    fake = FakeGemini().start()
    fake.default = Text(["Stored."])
    proc = smoke.start_binary(
        str(binary), str(data_dir), fake, api_key=None, TASKCHAT_KEYRING_BACKEND="secretservice"
    )
    log: list[str] = []
    try:
        url = urlsplit(smoke.read_launch_url(proc, 90, log))
        port = url.port or 80
        cookie = smoke.session_cookie(port, url.query)
        put = smoke.request(
            port,
            "PUT",
            "/api/settings/gemini-key",
            headers={"Cookie": cookie, "Content-Type": "application/json"},
            body=json.dumps({"api_key": key}).encode(),
        )
        answer = put.read()
        assert put.status == 200, answer
        assert key.encode() not in answer
        # The install id (written by the binary by now) names the keyring entries.
        entry = f"gemini-api-key:{keystore.install_id(Settings())}"
        assert SecretService.Keyring().get_password(SERVICE, entry) == key

        events = smoke.send_message(port, cookie, "Hi", 90)
        assert smoke.reply_text(events) == "Stored."
        assert fake.requests[-1].headers["authorization"] == f"Bearer {key}"
    finally:
        proc.terminate()
        proc.wait(15)
        fake.stop()
        forget_stored_secrets(Settings())
    assert proc.returncode == 0, "\n".join(log[-30:])


@pytest.mark.gui
def test_self_test_with_screenshot(
    binary: Path,
    xvfb_display: str,  # noqa: F811
    data_dir: Path,
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "taskchat-window.png"
    shot.unlink(missing_ok=True)
    result = subprocess.run(
        [binary, "--self-test", "--screenshot", str(shot)],
        env=gui_env(xvfb_display, data_dir),
        capture_output=True,
        text=True,
        timeout=240,
    )
    (ARTIFACTS / "taskchat-self-test.log").write_text(result.stdout + "\n" + result.stderr)
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("SELF-TEST OK "), result.stdout + result.stderr
    assert result.returncode == 0
    width, height = png_size(shot)
    assert width >= 420 and height >= 560
    assert_shows_taskchat(shot)


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB/RGBA, non-interlaced PNG, which
    is what every backend's screenshot writes; no image library needed."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                nearest = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + nearest) & 0xFF
        previous = line
        rows.append(bytes(b for x in range(width) for b in line[x * channels : x * channels + 3]))
    return width, height, rows


def assert_shows_taskchat(path: Path) -> None:
    """The screenshot is the rendered UI, not a blank or black window."""
    width, height, rows = png_pixels(path)
    colours = set()
    accent = 0
    for y in range(0, height, 4):
        for x in range(0, width, 4):
            r, g, b = rows[y][3 * x : 3 * x + 3]
            colours.add((r, g, b))
            if abs(r - 0x4F) < 24 and abs(g - 0x46) < 24 and abs(b - 0xE5) < 24:
                accent += 1  # the brand colour of the logo / focused composer
    assert len(colours) > 20, "the window looks blank"
    assert accent > 0, "no TaskChat accent colour in the window"
