"""The Linux package's size and the one-dir launch, per window design (a script, not a test).

    python -m benchmarks.bench_package                       # what is in dist/ now
    python -m benchmarks.bench_package --build qt gtk        # build both designs, compare
    python -m benchmarks.bench_package --runs 9 --quick

A design is the web view the Linux build carries (build.spec, TASKCHAT_WEBVIEW): `qt` (Qt
WebEngine through PySide6, in the bundle) or `gtk` (pywebview's GTK backend on the
system's WebKitGTK, which the .deb depends on). Without --build it measures the one-dir
build in dist/onedir and the .deb next to it (`make package`); --build builds each named
design into build/bench-package/<design>/ (PyInstaller one-dir, then the .deb, xz as in a
release), one after the other in the same run, so the figures compare on the same machine.

Per design:
  .deb            the package file as released (xz), target <= 100 MB (issue 29)
  installed       what dpkg puts on disk (the control file's Installed-Size)
  one-dir         the PyInstaller folder the .deb carries under /opt/taskchat
  launch → UI     starting the one-dir binary (`--self-test`, under a private Xvfb, on a
                  data folder opened before) to the UI painted in its window, as the binary
                  reports it; target <= 1.5 s (issue 29). Runs alternate between the
                  designs, so both see the same machine.
  CPU time        user + system CPU time of every process of the app (the window, a server
                  child, the web view's helpers) until the UI is painted (read when the
                  window's log says so), and of the whole self-test run: on a shared
                  machine the wall time depends on the load, the CPU time much less.
The ratio column compares each design with the first one named.

--quick (the benchmark suite's check that it still works): one launch, and only what is
already built; nothing there → no figures.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import Figure, report
from tests.xvfb import have_xvfb, virtual_display

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
DEB_TARGET = f"<= 100 MB ({100e6 / MIB:.1f} MiB)"
LAUNCH_TARGET = "<= 1.5 s"
FAKE_KEY = "fake-bench-key-not-real"

sys.path.insert(0, str(ROOT / "packaging" / "linux"))
import build_deb  # noqa: E402


@dataclass
class Build:
    design: str
    onedir: Path  # the folder holding the `taskchat` executable
    deb: Path | None


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def installed_size(deb: Path) -> int:
    """Bytes, from the control file's Installed-Size (KiB), as apt shows it."""
    out = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Installed-Size"], capture_output=True, text=True, check=True
    ).stdout
    return int(out.strip()) * 1024


def build_design(design: str) -> Build:
    """PyInstaller one-dir of `design`, then its .deb, under build/bench-package/<design>."""
    base = ROOT / "build" / "bench-package" / design
    shutil.rmtree(base, ignore_errors=True)
    env = {**os.environ, "TASKCHAT_WEBVIEW": design}
    subprocess.run(
        [
            str(ROOT / "packaging" / "build.sh"),
            "onedir",
            "--skip-webui",
            "--dist",
            str(base / "dist"),
        ],
        check=True,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    onedir = base / "dist" / "onedir" / "taskchat"
    deb = build_deb.build(onedir, base, work=base / "deb")
    return Build(design, onedir, deb)


def existing_build() -> Build | None:
    onedir = ROOT / "dist" / "onedir" / "taskchat"
    if not (onedir / "taskchat").is_file():
        return None
    built = (onedir / "taskchat").stat().st_mtime
    # Only a .deb made from this build (make package writes it after the one-dir).
    debs = [p for p in (ROOT / "dist").glob("taskchat_*.deb") if p.stat().st_mtime >= built]
    deb = max(debs, key=lambda p: p.stat().st_mtime) if debs else None
    return Build(build_deb.webview_of(onedir), onedir, deb)


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by `pid` and its descendants, including
    children they have already reaped (Linux /proc)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    ticks = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            ticks += sum(int(x) for x in stats[current][11:15])  # utime stime cutime cstime
        todo.extend(children.get(current, []))
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Launch:
    ui: float  # seconds, launch → UI painted, as the binary reports it
    cpu_ui: float  # CPU seconds of the app's processes until then
    cpu: float  # CPU seconds of the whole self-test run


def launch(exe: Path, display: str, data_dir: str, **extra: str) -> Launch:
    """One `--self-test` start; its CPU time is read when the window's log reports the UI
    painted (the window is held open a moment meanwhile)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKCHAT_", "GEMINI_"))}
    env.update(TASKCHAT_DATA_DIR=data_dir, GEMINI_API_KEY=FAKE_KEY, DISPLAY=display, **extra)
    env.update(TASKCHAT_SELF_TEST_HOLD="1")
    env.pop("WAYLAND_DISPLAY", None)
    log = Path(data_dir) / "logs" / "window.log"
    offset = log.stat().st_size if log.exists() else 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env["TASKCHAT_LAUNCH_EPOCH"] = repr(time.time())
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([str(exe), "--self-test"], env=env, stdout=out, stderr=err)
        cpu_ui = float("nan")
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            if log.exists():
                with log.open("rb") as fh:
                    fh.seek(offset)
                    if b"launch timing ui=" in fh.read():
                        cpu_ui = tree_cpu(proc.pid)
                        break
            time.sleep(0.02)
        proc.wait(max(1.0, deadline - time.monotonic()))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.seek(0)
        err.seek(0)
        line = out.read().decode(errors="replace").strip()
        if proc.returncode != 0 or not line.startswith("SELF-TEST OK"):
            stderr = err.read().decode(errors="replace")
            raise RuntimeError(f"{exe}: self-test failed: {line}\n{stderr[-2000:]}")
    match = re.search(r"\bui=([\d.]+)s", line)
    assert match, line
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Launch(float(match.group(1)), cpu_ui, cpu)


def measure(builds: list[Build], runs: int) -> list[Figure]:
    figures: list[Figure] = []
    base = builds[0]

    def ratio(value: float, reference: float, build: Build) -> dict[str, float]:
        if build is base or not reference:
            return {}
        return {f"ratio_vs_{base.design}": value / reference}

    sizes: dict[str, tuple[float, float, float]] = {}
    for build in builds:
        deb = build.deb.stat().st_size / MIB if build.deb else float("nan")
        inst = installed_size(build.deb) / MIB if build.deb else float("nan")
        sizes[build.design] = (deb, inst, tree_size(build.onedir) / MIB)
    ref = sizes[base.design]

    def size(build: Build, label: str, value: float, reference: float, **kw: str) -> Figure:
        extra = ratio(value, reference, build)
        return Figure(f"{build.design}: {label}", [value], unit="MiB", extra=extra, **kw)

    for build in builds:
        deb, inst, onedir = sizes[build.design]
        if build.deb:
            note = f"{build.deb.stat().st_size / 1e6:.1f} MB"
            figures.append(size(build, ".deb (xz)", deb, ref[0], target=DEB_TARGET, note=note))
            figures.append(size(build, "installed size", inst, ref[1], note="Installed-Size"))
        figures.append(size(build, "one-dir size", onedir, ref[2]))
    if not have_xvfb():
        print("no Xvfb here: launch times skipped", file=sys.stderr)
        return figures
    launches: dict[str, list[Launch]] = {b.design: [] for b in builds}
    failed = {b.design: 0 for b in builds}
    # No D-Bus session bus is given: GLib autolaunches one for the display at the first
    # start, which is not counted.
    with virtual_display() as display, tempfile.TemporaryDirectory() as tmp:
        folders = {b.design: str(Path(tmp) / b.design) for b in builds}
        for build in builds:  # the first start creates the database: not counted
            launch(build.onedir / "taskchat", display, folders[build.design])
        for _ in range(runs):
            for build in builds:
                try:
                    one = launch(build.onedir / "taskchat", display, folders[build.design])
                except RuntimeError as exc:  # reported, and counted in the figure's note
                    print(exc, file=sys.stderr)
                    failed[build.design] += 1
                    continue
                launches[build.design].append(one)
    ref = launches[base.design]
    for build in builds:
        d = build.design
        for name, unit, note, value in (
            ("one-dir launch → UI painted", "s", "data folder used before, Xvfb", "ui"),
            ("CPU time until the UI is painted", "s", "user + system, every process", "cpu_ui"),
            ("CPU time of the whole self-test", "s", "start, UI, shutdown", "cpu"),
        ):
            samples = [getattr(one, value) for one in launches[d]]
            figures.append(
                Figure(
                    f"{d}: {name}",
                    samples,
                    unit=unit,
                    target=LAUNCH_TARGET if value == "ui" else "",
                    note=f"{note}; {failed[d]} of {runs} starts failed" if failed[d] else note,
                    extra=ratio(
                        median(samples), median([getattr(one, value) for one in ref]), build
                    ),
                )
            )
    return figures


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--build",
        nargs="+",
        choices=["qt", "gtk"],
        metavar="DESIGN",
        help="build these designs (qt, gtk) and compare them; the first is the reference",
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="one launch, no build")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux") or shutil.which("dpkg-deb") is None:
        print("bench_package measures the Linux .deb: not this machine")
        return 0
    if args.build and not args.quick:
        builds = [build_design(design) for design in args.build]
    else:
        found = existing_build()
        if found is None:
            print("nothing built in dist/ (make package): no figures")
            return 0
        builds = [found]
    figures = measure(builds, 1 if args.quick else args.runs)
    report("TaskChat Linux package", "package", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
