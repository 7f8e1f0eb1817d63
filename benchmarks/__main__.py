"""Every benchmark, one table: python -m benchmarks [--quick] [--only NAME ...].

`--only` reruns some modules and refreshes just their rows in the last summary.

Each benchmarks/bench_*.py module runs in its own Python process (so one module's
environment, event loop or memory cannot colour the next), through its `main(argv)`:
`["--quick"]` in quick mode when the module takes that flag. Its figures come from what
`main` returns (`{name: Figure.to_json()}`), or else from the results JSON it wrote.
A module that is not there yet is listed as skipped with a note; one that fails makes
the whole run exit non-zero (CI runs `--quick` only to check they all still work).
Full mode writes benchmarks/results/summary.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.report import RESULTS_DIR, machine

HERE = Path(__file__).resolve().parent
# Preferred order; any other bench_*.py found runs after these.
ORDER = [
    "bench_chat",
    "bench_tasks",
    "bench_store",
    "bench_load",
    "bench_sync",
    "bench_webui_size",
    "bench_desktop",
]
# Modules other issues are still writing: absent is a note, not an error.
EXPECTED = {"bench_sync": "sync of 10k changes (issue 7)", "bench_desktop": "desktop (issue 6)"}
# Too slow (or needing a build) for quick mode: they run in full mode only.
FULL_ONLY = {
    "bench_desktop": "builds the desktop binary with PyInstaller",
    "bench_footprint": "opens the window under Xvfb on each web view",
    "bench_panel": "the built web UI in Chromium with 5,000 tasks",
    "bench_package": "builds or launches the packaged app under Xvfb",
}
# What a module needs before it can run at all.
NEEDS = {
    "bench_webui_size": (HERE.parent / "webui" / "dist" / "index.html", "npm run build"),
    "bench_panel": (HERE.parent / "webui" / "dist" / "index.html", "npm run build"),
    "bench_webkit_panel": (HERE.parent / "webui" / "dist" / "index.html", "npm run build"),
}

CHILD = """
import json, os, sys
from importlib import import_module
result = import_module("benchmarks." + sys.argv[1]).main(sys.argv[2:])
with open(os.environ["TASKCHAT_BENCH_RESULT"], "w") as fh:
    json.dump(result if isinstance(result, dict) else None, fh)
"""


def modules() -> list[str]:
    found = sorted(p.stem for p in HERE.glob("bench_*.py"))
    return [m for m in ORDER if m in found or m in EXPECTED] + [m for m in found if m not in ORDER]


def takes_quick(name: str) -> bool:
    return '"--quick"' in (HERE / f"{name}.py").read_text()


def _written_since(start: float, stem: str) -> dict[str, dict]:
    """Figures from this module's results files (`<stem>*.json`) written since `start`."""
    figures: dict[str, dict] = {}
    for path in sorted(RESULTS_DIR.glob(f"{stem}*.json")):
        if path.name == "summary.json" or path.stat().st_mtime < start:
            continue
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        for fig in data.get("figures", []) if isinstance(data, dict) else []:
            if isinstance(fig, dict) and "name" in fig:
                figures[fig["name"]] = fig
    return figures


def run_module(name: str, quick: bool) -> dict:
    """{"status": ok|skipped|failed, "note", "seconds", "figures": {name: figure json}}."""
    if not (HERE / f"{name}.py").exists():
        return {"status": "skipped", "note": f"not written yet: {EXPECTED.get(name, name)}"}
    if quick and name in FULL_ONLY:
        return {"status": "skipped", "note": f"full mode only ({FULL_ONLY[name]})"}
    need = NEEDS.get(name)
    if need and not need[0].exists():
        return {"status": "skipped", "note": f"needs {need[0].name} (run `{need[1]}` first)"}
    argv = ["--quick"] if quick and takes_quick(name) else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        env = {**os.environ, "TASKCHAT_BENCH_RESULT": str(out)}
        start = time.time()
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, name, *argv], cwd=HERE.parent, env=env, check=False
        )
        seconds = time.time() - start
        returned = json.loads(out.read_text()) if out.exists() else None
    if proc.returncode != 0:
        return {"status": "failed", "note": f"exit {proc.returncode}", "seconds": seconds}
    stem = name.removeprefix("bench_")
    figures = returned if isinstance(returned, dict) else _written_since(start - 1, stem)
    return {"status": "ok", "note": "", "seconds": seconds, "figures": figures}


def _fmt(value: object, unit: str) -> str:
    return f"{value:.2f} {unit}" if isinstance(value, int | float) else "—"


def _ratio(fig: dict) -> str:
    extra = fig.get("extra") or {}
    for key, value in extra.items():
        if key.startswith("ratio") and isinstance(value, int | float):
            return f"{value:.2f}"
    return ""


def print_summary(results: dict[str, dict], title: str) -> None:
    table = Table(title=title)
    for column in ("module", "figure", "median", "p95", "n", "ratio", "target / note"):
        table.add_column(column)
    for module, result in results.items():
        figures = result.get("figures") or {}
        if not figures:
            table.add_row(module, f"[{result['status']}]", "", "", "", "", result.get("note", ""))
            continue
        for name, fig in figures.items():
            unit = fig.get("unit", "ms")
            note = " · ".join(x for x in (fig.get("target"), fig.get("note")) if x)
            table.add_row(
                module,
                name,
                _fmt(fig.get("median"), unit),
                _fmt(fig.get("p95"), unit),
                str(fig.get("n", "")),
                _ratio(fig),
                note,
            )
    Console(width=200).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny runs: check they all work")
    parser.add_argument("--only", nargs="*", help="module names (bench_chat …)")
    args = parser.parse_args(argv)
    names = [m for m in modules() if not args.only or m in args.only]
    results: dict[str, dict] = {}
    for name in names:
        print(f"==> {name}{' (quick)' if args.quick else ''}", flush=True)
        results[name] = run_module(name, args.quick)
        print(f"    {results[name]['status']} {results[name].get('note', '')}", flush=True)
    mode = "quick" if args.quick else "full"
    path = RESULTS_DIR / ("summary-quick.json" if args.quick else "summary.json")
    if args.only and path.exists():
        # A partial run refreshes those modules in the last summary, keeping the others.
        try:
            earlier = json.loads(path.read_text()).get("modules", {})
        except ValueError:
            earlier = {}
        results = {**{n: r for n, r in earlier.items() if n in modules()}, **results}
        results = {n: results[n] for n in modules() if n in results}
    print_summary(results, f"TaskChat benchmarks ({mode} mode)")
    summary = {"machine": machine(), "mode": mode, "modules": results}
    RESULTS_DIR.mkdir(exist_ok=True)
    path.write_text(json.dumps(summary, indent=2))
    print(f"written {path}")
    failed = [n for n, r in results.items() if r["status"] == "failed"]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
