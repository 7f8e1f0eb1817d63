"""Builds a smaller ICU data library for the Linux binary's Qt (called from build.spec).

Qt Core links ICU (libicudata.so.NN, 30 MB, a sixth of the one-file binary once
compressed) for exactly four things: legacy text codecs (ucnv), collation (ucol), time-zone
display names (ucal) and locale-aware case mapping (u_strToUpper/Lower). TaskChat's
window is one web view: Chromium inside Qt WebEngine decodes, sorts and renders all text
with its own ICU data (resources/icudtl.dat, untouched), and Qt itself only draws the
window frame and an error dialog. So the copy bundled here keeps the locale bundles (what
ucal and case mapping read) and the normalisation/alias tables, and drops what only
other programs reach: legacy codec tables (*.cnv; UTF-8/16/32 and Latin-1 are built into
the code), collation, break-iteration rules, character names and the display names of
languages, regions, currencies, units and time zones.

    python packaging/icu_trim.py SOURCE_LIB OUT_DIR     # prints the new library's path

Needs `icupkg` (Debian/Ubuntu: icu-devtools; it reads newer ICU packages too), binutils
and a C compiler. Without them build.spec keeps the full library and says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Item prefixes and names of the ICU data package that Qt Core never reads for TaskChat.
DROP_PREFIXES = ("brkitr/", "coll/", "curr/", "lang/", "rbnf/", "region/", "translit/")
DROP_PREFIXES += ("unit/", "zone/")
DROP_SUFFIXES = (".cnv",)
DROP_NAMES = ("unames.icu",)
TOOLS = ("icupkg", "nm", "readelf", "cc")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def extract_package(library: Path) -> tuple[str, bytes]:
    """The data symbol's name (icudtNN_dat) and its bytes: one ICU common data package."""
    symbols = _run("nm", "-D", "-S", "--defined-only", str(library))
    match = re.search(r"^([0-9a-f]+) ([0-9a-f]+) R (icudt\d+_dat)$", symbols, re.M)
    if not match:
        raise ValueError(f"{library} exports no icudtNN_dat symbol")
    address, size, name = int(match.group(1), 16), int(match.group(2), 16), match.group(3)
    sections = _run("readelf", "-SW", str(library))
    for line in sections.splitlines():
        fields = line.split("]", 1)[-1].split()
        if len(fields) >= 4 and fields[0] == ".rodata":
            vaddr, offset = int(fields[2], 16), int(fields[3], 16)
            break
    else:
        raise ValueError(f"{library} has no .rodata section")
    with library.open("rb") as fh:
        fh.seek(address - vaddr + offset)
        return name, fh.read(size)


def dropped(item: str) -> bool:
    return item.startswith(DROP_PREFIXES) or item.endswith(DROP_SUFFIXES) or item in DROP_NAMES


def trim(library: Path, out_dir: Path) -> Path:
    """Write `out_dir/<library name>` with the trimmed package; return its path."""
    symbol, package = extract_package(library)
    soname = re.search(
        r"SONAME\)\s+Library soname: \[([^\]]+)\]", _run("readelf", "-d", str(library))
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dat = work / f"{symbol.removesuffix('_dat')}l.dat"
        dat.write_bytes(package)
        items = _run("icupkg", "-l", str(dat)).split()
        drop = [item for item in items if dropped(item)]
        (work / "drop.txt").write_text("\n".join(drop) + "\n", encoding="utf-8")
        # icupkg edits the package in place; it must be run from the package's folder.
        subprocess.run(["icupkg", "-r", "drop.txt", dat.name], check=True, cwd=work)
        kept = _run("icupkg", "-l", str(dat)).split()
        if len(kept) != len(items) - len(drop) or not any(i.endswith("root.res") for i in kept):
            raise ValueError("icupkg did not write the expected package")
        source = work / "data.S"
        source.write_text(
            ".section .rodata\n"
            f".globl {symbol}\n.type {symbol}, @object\n.balign 16\n"
            f'{symbol}:\n.incbin "{dat.name}"\n.size {symbol}, .-{symbol}\n'
            '.section .note.GNU-stack,"",@progbits\n',
            encoding="utf-8",
        )
        out = out_dir / library.name
        subprocess.run(
            [
                "cc",
                "-shared",
                "-nostdlib",
                f"-Wl,-soname,{soname.group(1) if soname else library.name}",
                "-o",
                str(out),
                source.name,
            ],
            check=True,
            cwd=work,
        )
    print(
        f"icu_trim: {library.name}: {len(items)} -> {len(kept)} items, "
        f"{len(package) / 2**20:.1f} -> {out.stat().st_size / 2**20:.1f} MB",
        file=sys.stderr,
    )
    return out


if __name__ == "__main__":
    print(trim(Path(sys.argv[1]), Path(sys.argv[2])))
