"""Whole-app memory (PSS) and launch → UI painted for each desktop design, in one run.

    python -m benchmarks.bench_footprint [--runs 5] [--hold 10] [--designs ...] [--quick]
        [--build NAME=PATH ...] [--variant NAME=DESIGN:VAR=VALUE,... ...] [--tasks N]
        [--session x11|wayland]

Designs (each skipped with a note when this machine lacks it): the web view, and where the
server runs (`process`: a child `taskchat serve --stdin-control`; `thread`: uvicorn on a
thread of the window process, TASKCHAT_SERVER=thread):
  onedir-thread        the PyInstaller one-dir binary (dist/onedir; the web view it was
                       built with, WebKitGTK by default), server thread
  onedir-process       the same binary, server process
  NAME-thread, NAME-process
                       another one-dir binary, `--build NAME=PATH` (e.g. a copy of the
                       previous commit's build: before/after in the same run)
  qt-process           from source, Qt WebEngine (TASKCHAT_WEBVIEW=qt), server process
  qt-thread            the same, server thread
  gtk-process          from source, WebKitGTK (TASKCHAT_WEBVIEW=gtk) with its compositing
                       mode on (TASKCHAT_WEBKIT_COMPOSITING=1), server process
  gtk-nocomp-process   WebKitGTK without accelerated compositing (TaskChat's default)
  gtk-nocomp-thread    the same, server thread
  NAME (--variant NAME=DESIGN:VAR=VALUE,...)
                       DESIGN with more environment, e.g. a candidate's switch
                       (`--variant arena2=onedir-thread:MALLOC_ARENA_MAX=2`)

All source designs run under the same interpreter (the venv's, with PyGObject; else the
system Python when it has PyGObject, the venv's packages on PYTHONPATH), so they are
compared on equal terms. Each run launches the window (`--self-test` with
TASKCHAT_SELF_TEST_HOLD, on a data folder opened before) under a private Xvfb (or, with
`--session wayland`, a private headless weston and no X11), waits until
the UI is painted (the chat view chosen and the task panel in the DOM, read through the
web view), lets it idle, then sums the proportional set size (PSS, /proc/PID/smaps_rollup)
of every process of the app: the window process, its server child and the web view's
helpers (X server excluded). PSS shares a library's pages among every process on the
machine that maps them, so a sample waits (up to a minute) until no other program's
WebKitGTK or Qt WebEngine runs, and notes it when one still did. Targets (issue 29):
whole app <= 300 MiB, one-dir launch → UI painted <= 1.5 s.

The designs take turns launch by launch (A, B, C, A, B, C, ...), so that a change in the
machine's load shows in all of them alike; each launch row gives its median's ratio to the
first design's. Next to the wall time, the CPU time every process of the app had used when
the UI was painted (read from /proc when the window's log says so, within ~0.1 s), and
when the sample was taken (the page's work after it painted included). `--tasks N` imports
N tasks into each data folder after its first launch (a panel with work to render: what
a slower web view, such as one without its JIT, would show in these times).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_panel import serving_tasks
from benchmarks.report import Figure, report
from tests.wayland import have_weston, wayland_session
from tests.xvfb import virtual_display

ROOT = Path(__file__).resolve().parents[1]
ONEDIR = ROOT / "dist" / "onedir" / "taskchat" / "taskchat"
MIB = 1024 * 1024
SYSTEM_PYTHON = "/usr/bin/python3"
ALL_DESIGNS = (
    "onedir-thread",
    "onedir-process",
    "qt-process",
    "qt-thread",
    "gtk-process",
    "gtk-nocomp-process",
    "gtk-nocomp-thread",
)
GTK_PROBE = "import gi; gi.require_version('Gtk', '3.0'); gi.require_version('WebKit2', '4.1')"


@dataclass
class Design:
    name: str
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)


def has_webkitgtk(python: str) -> bool:
    if not Path(python).exists():
        return False
    return subprocess.run([python, "-c", GTK_PROBE], capture_output=True).returncode == 0


def designs(
    wanted: list[str], builds: dict[str, Path] | None = None
) -> tuple[list[Design], list[str]]:
    """The designs named in `wanted`; `builds` maps a name to a one-dir binary (NAME-thread,
    NAME-process); `onedir` is dist/onedir unless given."""
    builds = {"onedir": ONEDIR, **(builds or {})}
    found: list[Design] = []
    notes: list[str] = []
    python = sys.executable
    source_env: dict[str, str] = {}
    gtk_ok = has_webkitgtk(python)
    if not gtk_ok and has_webkitgtk(SYSTEM_PYTHON):
        python, gtk_ok = SYSTEM_PYTHON, True
        source_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]])
    for name in wanted:
        build, _, where = name.rpartition("-")
        if build in builds and where in ("thread", "process"):
            if builds[build].is_file():
                found.append(Design(name, [str(builds[build])], {"TASKCHAT_SERVER": where}))
            else:
                notes.append(f"{name}: no one-dir build at {builds[build]}")
            continue
        if name.startswith("gtk") and not gtk_ok:
            notes.append(f"{name}: no PyGObject/WebKitGTK 4.1 for {python}")
            continue
        web, _, where = name.rpartition("-")
        env = dict(source_env, TASKCHAT_SERVER=where)
        env["TASKCHAT_WEBVIEW"] = "qt" if web == "qt" else "gtk"
        if web.startswith("gtk"):
            env["TASKCHAT_WEBKIT_COMPOSITING"] = "0" if web == "gtk-nocomp" else "1"
        found.append(Design(name, [python, "-m", "app"], env))
    return found, notes


def children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def pss_tree(pid: int) -> dict[int, tuple[int, str]]:
    """pid -> (PSS bytes, command line) for `pid` and all its descendants."""
    children = children_map()
    out: dict[int, tuple[int, str]] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, StopIteration, ValueError):
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            kb = next(int(x.split()[1]) for x in rollup.splitlines() if x.startswith("Pss:"))
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            out[p] = (kb * 1024, cmd)
        todo.extend(children.get(p, []))
    return out


# Libraries whose pages the web views share: PSS splits a shared page between every
# process on the machine that maps it, so another app's web view running at the same time
# lowers this app's figure. Sampling waits until none is running (up to FOREIGN_WAIT_S).
SHARED_ENGINES = ("libwebkit2gtk-4.1.so", "libQt6WebEngineCore.so")
FOREIGN_WAIT_S = 60.0
# Mesa's libLLVM, which WebKitGTK's EGL display loads, is also mapped by every X server with
# GLX (the benchmark's own Xvfb) and GL program: each one more lowers the figure by several
# MiB (~14 MiB for two more Xvfb), so the sample says how many there were.
SHARED_MESA = ("libLLVM",)
# The display sessions (--session): what the report calls each, and how many of those
# libLLVM mappers its own display server is (headless weston renders without GL).
SESSIONS = {"x11": ("Xvfb", 1), "wayland": ("headless Wayland, weston", 0)}


def foreign_sharers(tree: set[int], libraries: tuple[str, ...] = SHARED_ENGINES) -> list[int]:
    """Processes outside `tree` that map one of `libraries` (by default a web engine)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in tree:
            continue
        with contextlib.suppress(OSError):
            maps = (entry / "maps").read_text(errors="replace")
            if any(lib in maps for lib in libraries):
                found.append(int(entry.name))
    return found


@dataclass
class Sample:
    total: int
    window: int
    server: int
    helpers: int
    ui: float
    cpu: float  # seconds of CPU of every process of the app when the UI was painted
    cpu_idle: float  # the same when the sample was taken (the idle time's work included)
    processes: int
    foreign: int
    mesa_sharers: int  # other processes mapping Mesa's libLLVM (the benchmark's Xvfb too)


def cpu_tree(pid: int) -> float:
    """User + system CPU seconds of `pid` and its descendants (those still running)."""
    children = children_map()
    ticks = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        todo.extend(children.get(p, []))
    return ticks / os.sysconf("SC_CLK_TCK")


def env_for(design: Design, data_dir: str, session: dict[str, str]) -> dict[str, str]:
    """The design's environment in `session` (DISPLAY, or WAYLAND_DISPLAY and its runtime
    folder): no other display is left for the toolkit to choose."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKCHAT_", "GEMINI_"))}
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "GDK_BACKEND", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    env.update(session)
    env.update(
        TASKCHAT_DATA_DIR=data_dir,
        GEMINI_API_KEY="fake-bench-key-not-real",
        TASKCHAT_UPDATE_CHECK="0",
    )
    env.update(design.env)
    return env


def wait_until_alone() -> None:
    """Wait (at most FOREIGN_WAIT_S) until no other program's web view runs: launch times
    too are fairer without another web view starting."""
    quiet_until = time.monotonic() + FOREIGN_WAIT_S
    while foreign_sharers(set()) and time.monotonic() < quiet_until:
        time.sleep(0.5)


@dataclass
class Launch:
    """A window's `--self-test` that has painted its UI (see `launch_until_painted`)."""

    proc: subprocess.Popen[str]
    log: Path
    offset: int  # where this launch's lines start in `log`
    epoch: float  # time.time() at the launch
    ui: float  # launch → UI painted, as the window logged it
    cpu: float  # CPU seconds of every process of the app when that was read

    def text(self) -> str:
        return self.log.read_text(errors="replace")[self.offset :]

    def settle(self, idle: float) -> dict[int, tuple[int, str]]:
        """Idle `idle` s, then wait (at most FOREIGN_WAIT_S) until no other program's web
        view shares pages with this one: its PSS tree (`pss_tree`)."""
        time.sleep(idle)
        deadline = time.monotonic() + FOREIGN_WAIT_S
        while foreign_sharers(set(pss_tree(self.proc.pid))) and time.monotonic() < deadline:
            time.sleep(0.5)
        return pss_tree(self.proc.pid)

    def close(self) -> str:
        """Close the window (a clean stop) and return its output; killed if it hangs."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            out, _ = self.proc.communicate(timeout=120)
            return out
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)


def launch_until_painted(
    cmd: list[str], env: dict[str, str], data_dir: str, what: str, cwd: Path | None = None
) -> Launch:
    """Start `cmd --self-test` (after waiting for no other web view to run) and wait until
    its window.log says the UI painted; the app's CPU time is read right then."""
    log = Path(data_dir) / "logs" / "window.log"
    offset = log.stat().st_size if log.exists() else 0
    wait_until_alone()
    epoch = time.time()
    env = {**env, "TASKCHAT_LAUNCH_EPOCH": repr(epoch)}
    proc = subprocess.Popen(
        [*cmd, "--self-test"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")[offset:] if log.exists() else ""
            painted = re.search(r"timing ui=([\d.]+)s", text)
            if painted:
                return Launch(proc, log, offset, epoch, float(painted.group(1)), cpu_tree(proc.pid))
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: exited before the UI painted")
            time.sleep(0.05)
        raise RuntimeError(f"{what}: the UI never painted")
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        raise


def run_once(
    design: Design, data_dir: str, session: dict[str, str], hold: float, idle: float
) -> Sample:
    env = env_for(design, data_dir, session)
    # Held long enough to wait out another program's web view; ended after the sample.
    env["TASKCHAT_SELF_TEST_HOLD"] = str(hold + idle + FOREIGN_WAIT_S)
    launch = launch_until_painted(design.cmd, env, data_dir, design.name)
    try:
        tree = launch.settle(idle)
        cpu_idle = cpu_tree(launch.proc.pid)
        foreign = len(foreign_sharers(set(tree)))
        mesa = len(foreign_sharers(set(tree), SHARED_MESA))
        if launch.proc.poll() is not None or launch.proc.pid not in tree:
            raise RuntimeError(f"{design.name}: exited before the sample")
    finally:
        out = launch.close()
    if launch.proc.returncode != 0:
        # Measured already; a slow shutdown on a busy machine does not void the sample.
        print(
            f"note: {design.name}: exit status {launch.proc.returncode}: {out[-300:]}",
            file=sys.stderr,
        )
    window = tree.get(launch.proc.pid, (0, ""))[0]
    server = sum(
        b for pid, (b, cmd) in tree.items() if pid != launch.proc.pid and " serve " in f"{cmd} "
    )
    total = sum(b for b, _ in tree.values())
    return Sample(
        total,
        window,
        server,
        total - window - server,
        launch.ui,
        launch.cpu,
        cpu_idle,
        len(tree),
        foreign,
        mesa,
    )


def measure(
    found: list[Design],
    runs: int,
    hold: float,
    idle: float,
    session: dict[str, str],
    tasks: int = 0,
) -> dict[str, list[Sample]]:
    """`runs` launches of each design, taking turns; each on a data folder of its own that
    its first launch (not counted) created, with `tasks` tasks imported after it."""
    samples: dict[str, list[Sample]] = {d.name: [] for d in found}
    with contextlib.ExitStack() as stack:
        folders = {
            d.name: stack.enter_context(tempfile.TemporaryDirectory(prefix="taskchat-footprint-"))
            for d in found
        }
        for design in found:
            run_once(design, folders[design.name], session, 0.0, 0.0)  # creates the database
            if tasks:
                with serving_tasks(folders[design.name], tasks):
                    pass  # seeded: the server stops again
        for _ in range(runs):
            for design in found:
                sample = run_once(design, folders[design.name], session, hold, idle)
                samples[design.name].append(sample)
                print(
                    f"{design.name}: UI painted {sample.ui:.2f} s (CPU {sample.cpu:.2f} s), "
                    f"PSS {sample.total / MIB:.0f} MiB",
                    flush=True,
                )
    return samples


def figures_for(
    design: Design, samples: list[Sample], first: Figure | None, display_mesa: int
) -> list[Figure]:
    """The design's figures; `display_mesa`: libLLVM mappers the session itself brings."""
    mib = [s.total / MIB for s in samples]
    breakdown = {
        "window_mib": sorted(s.window / MIB for s in samples)[len(samples) // 2],
        "server_mib": sorted(s.server / MIB for s in samples)[len(samples) // 2],
        "helpers_mib": sorted(s.helpers / MIB for s in samples)[len(samples) // 2],
        "processes": float(max(s.processes for s in samples)),
        "foreign_sharers": float(max(s.foreign for s in samples)),
        "mesa_sharers": float(max(s.mesa_sharers for s in samples)),
    }
    launch = Figure(
        f"{design.name}: launch → UI painted",
        [s.ui for s in samples],
        unit="s",
        target="<= 1.5 s (one-dir)",
    )
    cpu = Figure(
        f"{design.name}: CPU time of the app until the UI is painted",
        [s.cpu for s in samples],
        unit="s",
    )
    cpu_idle = Figure(
        f"{design.name}: CPU time of the app until the sample (UI painted, then idle)",
        [s.cpu_idle for s in samples],
        unit="s",
    )
    if first is not None:
        launch.note = f"{launch.median / first.median:.2f}x {first.name.split(':')[0]}"
    return [
        Figure(
            f"{design.name}: whole-app PSS, idle, UI painted",
            mib,
            unit="MiB",
            target="<= 300 MiB",
            note="window {window_mib:.0f} + server {server_mib:.0f} + web view helpers "
            "{helpers_mib:.0f} MiB, {processes:.0f} processes".format(**breakdown)
            + (
                f"; other web views sharing pages: {breakdown['foreign_sharers']:.0f}"
                if breakdown["foreign_sharers"]
                else ""
            )
            + (
                f"; other programs mapping Mesa's libLLVM: {breakdown['mesa_sharers']:.0f}"
                + (f" (the benchmark's display server: {display_mesa})" if display_mesa else "")
                if breakdown["mesa_sharers"] > display_mesa
                else ""
            ),
            extra=breakdown,
        ),
        launch,
        cpu,
        cpu_idle,
    ]


@contextlib.contextmanager
def session_of(kind: str) -> Iterator[dict[str, str]]:
    """A private display session's environment: Xvfb's DISPLAY, or headless weston's."""
    if kind == "wayland":
        with wayland_session() as env:
            yield env
    else:
        with virtual_display() as display:
            yield {"DISPLAY": display}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hold", type=float, default=10.0, help="seconds the window stays")
    parser.add_argument("--idle", type=float, default=5.0, help="idle seconds before sampling")
    parser.add_argument(
        "--designs", nargs="+", help="default: all, and NAME-thread/-process for each --build"
    )
    parser.add_argument(
        "--build",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="another one-dir binary: adds the designs NAME-thread and NAME-process "
        "(onedir=PATH replaces dist/onedir)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=DESIGN:VAR=VALUE,...",
        help="DESIGN run with more environment variables, as the design NAME",
    )
    parser.add_argument("--quick", action="store_true", help="one short run per design")
    parser.add_argument(
        "--tasks", type=int, default=0, help="tasks imported into each data folder first"
    )
    parser.add_argument(
        "--session",
        choices=tuple(SESSIONS),
        default="x11",
        help="the display: Xvfb, or headless weston with no X11 (WebKitGTK designs)",
    )
    args = parser.parse_args(argv)
    variants: dict[str, tuple[str, dict[str, str]]] = {}
    for spec in args.variant:
        name, _, rest = spec.partition("=")
        base, _, assignments = rest.partition(":")
        env = dict(a.split("=", 1) for a in assignments.split(",") if "=" in a)
        if not name or not base or not env:
            parser.error(f"--variant wants NAME=DESIGN:VAR=VALUE,..., not {spec!r}")
        variants[name] = (base, env)
    builds = {}
    for spec in args.build:
        name, _, path = spec.partition("=")
        if not name or not path or "-" in name:
            parser.error(f"--build wants NAME=PATH (NAME without '-'), not {spec!r}")
        builds[name] = Path(path)
    if args.designs is None:
        extra = [f"{b}-{w}" for b in builds if b != "onedir" for w in ("thread", "process")]
        args.designs = [*ALL_DESIGNS, *extra, *variants]
    known = {*ALL_DESIGNS, *(f"{b}-{w}" for b in builds for w in ("thread", "process"))}
    unknown_bases = [b for b, _ in variants.values() if b not in known]
    if unknown_bases:
        parser.error(f"--variant of unknown designs {unknown_bases}; known: {sorted(known)}")
    known |= set(variants)
    unknown = [d for d in args.designs if d not in known]
    if unknown:
        parser.error(f"unknown designs {unknown}; known: {sorted(known)}")
    if not sys.platform.startswith("linux"):
        raise SystemExit("this benchmark needs Linux")
    display_server = shutil.which("Xvfb") if args.session == "x11" else have_weston()
    if not display_server:
        where = SESSIONS[args.session][0]
        raise SystemExit(f"--session {args.session} needs {where} (scripts/setup.sh --test)")
    if args.quick:
        args.runs, args.hold, args.idle = 1, 2.0, 0.5
        args.designs = [d for d in args.designs if d in ("qt-process", "gtk-nocomp-thread")]
    found, notes = [], []
    for wanted in args.designs:
        base, env = variants.get(wanted, (wanted, {}))
        more, why = designs([base], builds)
        for design in more:
            design.name, design.env = wanted, {**design.env, **env}
        found += more
        notes += why
    figures: list[Figure] = []
    with session_of(args.session) as session:
        samples = measure(found, args.runs, args.hold, args.idle, session, args.tasks)
    first: Figure | None = None
    for design in found:
        more = figures_for(design, samples[design.name], first, SESSIONS[args.session][1])
        first = first or more[1]
        figures += more
    for note in notes:
        print(f"skipped: {note}")
    title = f"TaskChat footprint per desktop design (Linux, {SESSIONS[args.session][0]})"
    report(title, "footprint", figures, skipped=notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
