"""Size of the web UI's JavaScript, gzipped: what a window downloads before the built-in
chat view works (the entry chunk and its modulepreloads from dist/index.html), apart from
lazily loaded chunks such as the ChatKit bindings. ChatKit's own script comes from
OpenAI's CDN and is not in dist/ at all.

    python -m benchmarks.bench_webui_size      (after `cd webui && npm run build`)
"""

from __future__ import annotations

import argparse
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import Figure, print_table, write_json

DIST = Path(__file__).resolve().parents[1] / "webui" / "dist"
TARGET_KB = 250.0

_SCRIPT = re.compile(r'<script[^>]+type="module"[^>]+src="([^"]+)"')
_PRELOAD = re.compile(r'<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"')
# Static imports between chunks in Vite's minified output: import{a as b}from"./x.js"
_STATIC_IMPORT = re.compile(r'(?:^|[;}\s])import\s*(?:[\w${},*\s]+from\s*)?"(\./[^"]+\.js)"')


@dataclass
class Chunk:
    name: str
    raw: int
    gzipped: int
    initial: bool


def gz_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def initial_chunks(dist: Path) -> set[str]:
    """The JS files index.html loads up front, plus everything they import statically."""
    html = (dist / "index.html").read_text()
    todo = [Path(src).name for src in _SCRIPT.findall(html) + _PRELOAD.findall(html)]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = (dist / "assets" / name).read_text(errors="replace")
        todo.extend(Path(dep).name for dep in _STATIC_IMPORT.findall(source))
    return seen


def measure(dist: Path = DIST) -> list[Chunk]:
    if not (dist / "index.html").is_file():
        raise FileNotFoundError(f"{dist}/index.html missing: run `cd webui && npm run build`")
    initial = initial_chunks(dist)
    chunks = []
    for path in sorted((dist / "assets").glob("*.js")):
        data = path.read_bytes()
        chunks.append(Chunk(path.name, len(data), gz_size(data), path.name in initial))
    return chunks


def initial_gzipped_kb(chunks: list[Chunk]) -> float:
    return sum(c.gzipped for c in chunks if c.initial) / 1024


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dist", type=Path, default=DIST)
    args = parser.parse_args(argv)
    chunks = measure(args.dist)
    figures = [
        Figure(
            "JS, app shell + built-in chat view (gzip -9)",
            [initial_gzipped_kb(chunks)],
            unit="KB",
            target=f"<= {TARGET_KB:.0f} KB",
            note=", ".join(c.name for c in chunks if c.initial),
        ),
        Figure(
            "JS, lazy chunks (ChatKit bindings …)",
            [sum(c.gzipped for c in chunks if not c.initial) / 1024],
            unit="KB",
            note=", ".join(c.name for c in chunks if not c.initial),
        ),
    ]
    for c in chunks:
        figures.append(
            Figure(
                f"  {c.name}",
                [c.gzipped / 1024],
                unit="KB",
                note=f"{c.raw / 1024:.1f} KB raw, {'initial' if c.initial else 'lazy'}",
            )
        )
    print_table("Web UI JavaScript size", figures)
    path = write_json("webui_size", figures, target_kb=TARGET_KB)
    print(f"written {path}")
    return {f.name: f.to_json() for f in figures}


if __name__ == "__main__":
    main()
