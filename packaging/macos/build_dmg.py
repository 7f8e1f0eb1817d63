"""Builds dist/TaskChat-<version>-macos-<arch>.dmg from dist/onedir/TaskChat.app (dmgbuild).

    python packaging/macos/build_dmg.py [--app PATH]

The bundle (build.spec's BUNDLE) carries the bundle id, version, icon,
LSMinimumSystemVersion and NSHighResolutionCapable. Signing and notarization happen in the
release workflow when its secrets exist (.github/workflows/build.yml). Writes a .sha256
next to the image and prints the image's path.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
sys.path.insert(0, str(ROOT))

from archive import platform_tag, sha256_file  # noqa: E402

from app import __version__  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / "onedir" / "TaskChat.app")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    if not (args.app / "Contents" / "Info.plist").is_file():
        raise SystemExit(f"{args.app} is not an app bundle: run packaging/build.sh onedir first")
    args.out.mkdir(parents=True, exist_ok=True)
    dmg = args.out / f"TaskChat-{__version__}-{platform_tag()}.dmg"
    subprocess.run(
        [
            sys.executable, "-m", "dmgbuild",
            "-s", str(Path(__file__).with_name("dmg_settings.py")),
            "-D", f"app={args.app}",
            "TaskChat", str(dmg),
        ],
        check=True,
    )  # fmt: skip
    dmg.with_name(dmg.name + ".sha256").write_text(f"{sha256_file(dmg)}  {dmg.name}\n")
    print(dmg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
