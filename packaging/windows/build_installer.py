"""Builds dist/TaskChat-<version>-windows-<arch>-setup.exe from the one-dir build (Inno Setup).

    python packaging/windows/build_installer.py [--iscc PATH]

Per-user install without admin rights, Start menu entry, uninstaller (taskchat.iss). Signing
happens in the release workflow when its secrets exist. Writes a .sha256 next to the
installer and prints the installer's path.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
sys.path.insert(0, str(ROOT))

from archive import platform_tag, sha256_file  # noqa: E402

from app import __version__  # noqa: E402

_DEFAULT_ISCC = Path(os.environ.get("ProgramFiles(x86)", r"C:\Program Files (x86)")) / (
    "Inno Setup 6/ISCC.exe"
)


def find_iscc(given: str | None) -> str:
    for candidate in (given, shutil.which("iscc"), str(_DEFAULT_ISCC)):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit("Inno Setup's ISCC.exe was not found (choco install innosetup)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iscc")
    parser.add_argument("--onedir", type=Path, default=ROOT / "dist" / "onedir" / "taskchat")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    if not (args.onedir / "taskchat.exe").is_file():
        raise SystemExit(f"{args.onedir} has no taskchat.exe: run packaging/build.sh onedir")
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"TaskChat-{__version__}-{platform_tag()}-setup"
    subprocess.run(
        [
            find_iscc(args.iscc),
            f"/DAppVersion={__version__}",
            f"/DSourceDir={args.onedir.resolve()}",
            f"/DOutputDir={args.out.resolve()}",
            f"/DOutputName={name}",
            str(Path(__file__).with_name("taskchat.iss")),
        ],
        check=True,
    )
    installer = args.out / f"{name}.exe"
    installer.with_name(installer.name + ".sha256").write_text(
        f"{sha256_file(installer)}  {installer.name}\n"
    )
    print(installer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
