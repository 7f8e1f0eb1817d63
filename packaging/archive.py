"""Packs a built binary for release: an archive plus a SHA-256 checksum file.

    python packaging/archive.py onedir|onefile

writes dist/TaskChat-<version>-<os>-<arch>-<mode>.tar.gz (.zip on Windows) and
<archive>.sha256 in `sha256sum` format (`sha256sum -c` checks it), and prints both paths.
"""

from __future__ import annotations

import hashlib
import platform
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import __version__  # noqa: E402


def platform_tag() -> str:
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform)
    if system.startswith("linux"):
        system = "linux"
    machine = platform.machine().lower().replace("amd64", "x86_64").replace("aarch64", "arm64")
    return f"{system}-{machine}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else "onedir"
    dist = ROOT / "dist"
    exe_name = "taskchat.exe" if sys.platform == "win32" else "taskchat"
    if mode == "onedir":
        source = dist / "onedir" / ("TaskChat.app" if sys.platform == "darwin" else "taskchat")
    else:
        source = dist / "onefile" / exe_name
    if not source.exists():
        print(f"nothing to archive: {source} does not exist", file=sys.stderr)
        return 1
    stem = f"TaskChat-{__version__}-{platform_tag()}-{mode}"
    if sys.platform == "win32":
        out = dist / f"{stem}.zip"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            if source.is_dir():
                for path in sorted(source.rglob("*")):
                    zf.write(path, Path(stem) / path.relative_to(source))
            else:
                zf.write(source, source.name)
    else:
        out = dist / f"{stem}.tar.gz"
        with tarfile.open(out, "w:gz") as tf:
            tf.add(source, arcname=stem if source.is_dir() else source.name)
    checksum = out.with_name(out.name + ".sha256")
    checksum.write_text(f"{sha256_file(out)}  {out.name}\n", encoding="ascii")
    print(out)
    print(checksum)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
