"""Desktop binary figures for the Linux one-dir and one-file builds (a script, not a test).

    python -m benchmarks.bench_desktop                 # build both, measure both
    python -m benchmarks.bench_desktop --no-build      # measure what is in dist/
    python -m benchmarks.bench_desktop --modes onedir --runs 3

For each build:
  build time      a cold PyInstaller run (its work folder removed first; web UI prebuilt)
  size            the one-dir folder / the one-file binary, and its release archive
  launch → health seconds from starting the binary (window mode, `--self-test`) to
                  /api/health answering, as the binary reports it (TASKCHAT_LAUNCH_EPOCH is
                  set just before the start, so the one-file build's unpacking counts).
                  "launch": a data folder that has been opened before, as on every start
                  but the first; "first launch": a new, empty data folder each time (the
                  database is created and migrated on the way)
  launch → UI     to the UI painted in the window: the chat view chosen and the task panel
                  in the DOM (checked through the web view)
  idle RSS        resident memory of the process that runs the server (`serve`, 5 s idle);
                  for the window mode, the window's own Python/Qt process, its server
                  child and Qt WebEngine's helpers. Like the launch times, on a data folder
                  opened before, and (no target) on a first launch
  chat turns      `serve` against the fake Gemini: the first chat turn after a start and
                  the ones after it (request to the end of the reply), and the server's
                  RSS once they are over; the first turn again after the rehearsal the
                  web UI asks for on the first keystroke (POST /api/chat/prepare), and
                  how long that rehearsal takes

Needs Xvfb (scripts/setup.sh --test installs it) and the `build` extra. Targets:
one-dir launch → health <= 1.0 s and → UI <= 2.0 s; one-file <= 160 MB; idle RSS <= 150 MB.
Sizes and memory are reported in MiB (2^20 bytes); the targets, read as MB (10^6 bytes),
are shown converted (160 MB = 152.6 MiB, 150 MB = 143.1 MiB).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import Figure, report
from tests.fakes.gemini import FakeGemini, Text
from tests.xvfb import virtual_display

ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY = "fake-bench-key-not-real"
MIB = 1024 * 1024
ONE_FILE_TARGET = f"<= 160 MB ({160e6 / MIB:.1f} MiB)"
RSS_TARGET = f"<= 150 MB ({150e6 / MIB:.1f} MiB)"


def binary_path(mode: str) -> Path:
    if mode == "onedir":
        return ROOT / "dist" / "onedir" / "taskchat" / "taskchat"
    return ROOT / "dist" / "onefile" / "taskchat"


def build(mode: str) -> float:
    shutil.rmtree(ROOT / "build" / f"pyinstaller-{mode}", ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(
        [str(ROOT / "packaging" / "build.sh"), mode, "--skip-webui"],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def archive_size(mode: str) -> int:
    source = binary_path(mode) if mode == "onefile" else binary_path(mode).parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "a.tar.gz"
        with tarfile.open(out, "w:gz") as tf:
            tf.add(source, arcname=source.name)
        return out.stat().st_size


def env_for(data_dir: str, display: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKCHAT_", "GEMINI_"))}
    env.update(TASKCHAT_DATA_DIR=data_dir, GEMINI_API_KEY=FAKE_KEY)
    if display:
        env["DISPLAY"] = display
        env.pop("WAYLAND_DISPLAY", None)
    return env


def launch_times(binary: Path, display: str, data_dir: str | None = None) -> tuple[float, float]:
    """(launch → health, launch → UI painted) in seconds, from one --self-test run.

    `data_dir`: a folder to reuse (a later launch); None: a new empty one (a first launch).
    """
    with tempfile.TemporaryDirectory(prefix="taskchat-bench-") as fresh:
        env = env_for(data_dir or fresh, display)
        env["TASKCHAT_LAUNCH_EPOCH"] = repr(time.time())
        result = subprocess.run(
            [str(binary), "--self-test"], env=env, capture_output=True, text=True, timeout=300
        )
    line = result.stdout.strip()
    if result.returncode != 0 or not line.startswith("SELF-TEST OK"):
        raise RuntimeError(f"self-test failed: {line}\n{result.stderr[-2000:]}")
    health = float(re.search(r"health=([\d.]+)s", line).group(1))
    ui = float(re.search(r"ui=([\d.]+)s", line).group(1))
    return health, ui


def rss_tree(pid: int) -> dict[int, int]:
    """RSS in bytes of `pid` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out: dict[int, int] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, StopIteration, ValueError):
            status = Path(f"/proc/{p}/status").read_text()
            kb = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:"))
            out[p] = kb * 1024
        todo.extend(children.get(p, []))
    return out


def cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


CHAT_TURN = json.dumps(
    {
        "type": "threads.create",
        "params": {
            "input": {
                "content": [{"type": "input_text", "text": "Hello"}],
                "attachments": [],
                "inference_options": {},
            }
        },
    }
).encode()


CHAT_TURNS = 3


@dataclass
class ServeRun:
    idle_rss: int  # bytes, before any chat
    chat_rss: int  # bytes, once the turns are over
    turns: list[float]  # seconds, request to the end of the reply, the first one first
    rehearsal: float | None  # seconds, POST /api/chat/prepare until it reports done
    # seconds, GET /api/tasks one after another: while the rehearsal runs (`prepare`), or
    # for as long in a quiet server
    polls: list[float]


def poll_tasks(port: int, headers: dict[str, str], stop: threading.Event) -> list[float]:
    """GET /api/tasks every 5 ms until `stop`: how long a request waits for the server
    (the task panel's refresh, say) while something else runs on its event loop."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    try:
        while not stop.is_set():
            t0 = time.perf_counter()
            conn.request("GET", "/api/tasks?limit=50", headers=headers)
            conn.getresponse().read()
            times.append(time.perf_counter() - t0)
            stop.wait(0.005)
    finally:
        conn.close()
    return times


def serve_idle_and_chat(
    binary: Path, idle: float = 5.0, *, prepare: bool = False, data_dir: str | None = None
) -> ServeRun:
    """`serve` against the fake Gemini: RSS after `idle` s of quiet, the wall time of its
    first chat turns (request to the end of the reply), and RSS once they are over.

    `data_dir`: a folder to reuse (a later launch); None: a new empty one (a first launch,
    which creates and migrates the database: Alembic, loaded for that, stays in memory).

    The first turn after a start pays for what pydantic builds on first use (openai's and
    ChatKit's event models, which both libraries defer) and for the Gemini client.
    `prepare`: first ask for the rehearsal the web UI asks for when the person starts
    typing (POST /api/chat/prepare), and wait until it is done.
    """
    fake = FakeGemini().start()
    fake.default = Text(["Hello", " there", "!"])
    with tempfile.TemporaryDirectory(prefix="taskchat-bench-") as fresh:
        env = env_for(data_dir or fresh)
        env.update(GEMINI_BASE_URL=fake.base_url, TASKCHAT_MAX_RETRIES="0")
        proc = subprocess.Popen(
            [str(binary), "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:(\d+)/\?(launch=\S+)", line)
            if not match:
                raise RuntimeError(f"serve printed {line!r}")
            port = int(match.group(1))

            def call(method: str, path: str, **kwargs: object) -> http.client.HTTPResponse:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request(method, path, **kwargs)  # type: ignore[arg-type]
                return conn.getresponse()

            call("GET", "/api/health").read()
            time.sleep(idle)
            # One-file: the bootloader's child runs Python; take the largest process.
            idle_rss = max(rss_tree(proc.pid).values())
            launch = call("GET", f"/?{match.group(2)}", headers={"Accept": "text/html"})
            launch.read()
            cookie = "; ".join(
                v.split(";", 1)[0] for k, v in launch.getheaders() if k.lower() == "set-cookie"
            )
            headers = {"Cookie": cookie, "Content-Type": "application/json"}
            stop = threading.Event()
            polls: list[float] = []
            poller = threading.Thread(
                target=lambda: polls.extend(poll_tasks(port, headers, stop)), daemon=True
            )
            poller.start()
            rehearsal = None
            if prepare:
                t0 = time.perf_counter()
                while True:
                    answer = call("POST", "/api/chat/prepare", headers=headers)
                    status = json.loads(answer.read())
                    if answer.status != 202 or status.get("status") not in ("running", "done"):
                        raise RuntimeError(f"prepare answered {answer.status} {status!r}")
                    if status["status"] == "done":
                        if not status["events"]:
                            raise RuntimeError("the rehearsal did not run")
                        break
                    time.sleep(0.01)
                rehearsal = time.perf_counter() - t0
            else:
                time.sleep(0.4)  # about as long as a rehearsal
            stop.set()
            poller.join(60)
            turns = []
            for _ in range(CHAT_TURNS):
                t0 = time.perf_counter()
                reply = call("POST", "/api/chatkit", body=CHAT_TURN, headers=headers).read()
                turns.append(time.perf_counter() - t0)
                if b"there" not in reply:
                    raise RuntimeError(f"chat turn failed: {reply[:300]!r}")
            time.sleep(idle)
            return ServeRun(idle_rss, max(rss_tree(proc.pid).values()), turns, rehearsal, polls)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
            fake.stop()


def window_idle_rss(
    binary: Path, display: str, idle: float = 5.0, data_dir: str | None = None
) -> tuple[int, int, int]:
    """RSS of (the window's Python/Qt process, its server child, Qt WebEngine's helpers).

    `data_dir` as for serve_idle_and_chat.
    """
    with tempfile.TemporaryDirectory(prefix="taskchat-bench-") as fresh:
        data_dir = data_dir or fresh
        proc = subprocess.Popen(
            [str(binary)],
            env=env_for(data_dir, display),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            info = Path(data_dir) / "instance.json"
            deadline = time.monotonic() + 120
            while not info.exists():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the window did not start")
                time.sleep(0.1)
            time.sleep(idle + 2)
            tree = rss_tree(proc.pid)
            kinds = {pid: cmdline(pid) for pid in tree}
            helpers = sum(v for p, v in tree.items() if "QtWebEngineProcess" in kinds[p])
            server = max(v for p, v in tree.items() if "--stdin-control" in kinds[p])
            window = max(
                v
                for p, v in tree.items()
                if "QtWebEngineProcess" not in kinds[p] and "--stdin-control" not in kinds[p]
            )
            return window, server, helpers
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)


def measure(mode: str, runs: int, do_build: bool, display: str) -> list[Figure]:
    figures: list[Figure] = []
    if do_build:
        secs = build(mode)
        figures.append(
            Figure(
                f"{mode}: build time (cold)",
                [secs],
                unit="s",
                note="PyInstaller only; web UI prebuilt",
            )
        )
    binary = binary_path(mode)
    if not binary.is_file():
        raise SystemExit(f"{binary} missing: run packaging/build.sh {mode}")
    target = ONE_FILE_TARGET if mode == "onefile" else ""
    where = binary if mode == "onefile" else binary.parent
    figures.append(Figure(f"{mode}: size", [size_of(where) / MIB], unit="MiB", target=target))
    figures.append(
        Figure(f"{mode}: release archive (.tar.gz)", [archive_size(mode) / MIB], unit="MiB")
    )
    with tempfile.TemporaryDirectory(prefix="taskchat-bench-") as data_dir:
        launch_times(binary, display, data_dir)  # the first start: creates the database
        later = [launch_times(binary, display, data_dir) for _ in range(runs)]
    first = [launch_times(binary, display) for _ in range(runs)]
    for label, samples in (("launch", later), ("first launch", first)):
        regular = label == "launch" and mode == "onedir"  # the targets are for this one
        for index, (event, target) in enumerate(
            (("/api/health", "<= 1.0 s"), ("UI painted", "<= 2.0 s"))
        ):
            figures.append(
                Figure(
                    f"{mode}: {label} → {event}",
                    [sample[index] for sample in samples],
                    unit="s",
                    target=target if regular else "",
                )
            )
    serve: list[ServeRun] = []
    prepared: list[ServeRun] = []
    first_serve: list[ServeRun] = []
    with tempfile.TemporaryDirectory(prefix="taskchat-bench-") as data_dir:
        # As for the launch times: every start but the first finds its database in place.
        first_serve.append(serve_idle_and_chat(binary, data_dir=data_dir))
        for _ in range(max(1, min(runs, 3))):  # interleaved, so both see the same machine
            serve.append(serve_idle_and_chat(binary, data_dir=data_dir))
            prepared.append(serve_idle_and_chat(binary, prepare=True, data_dir=data_dir))
    first_serve += [serve_idle_and_chat(binary) for _ in range(max(0, min(runs, 3) - 1))]
    figures.append(
        Figure(
            f"{mode}: idle RSS, server (`serve`)",
            [run.idle_rss / MIB for run in serve],
            unit="MiB",
            target=RSS_TARGET,
            note="started, nobody chatting yet",
        )
    )
    figures.append(
        Figure(
            f"{mode}: idle RSS, server (`serve`), first launch",
            [run.idle_rss / MIB for run in first_serve],
            unit="MiB",
            note="a new data folder: Alembic, loaded to create the database, stays",
        )
    )
    figures.append(
        Figure(
            f"{mode}: idle RSS, server after {CHAT_TURNS} chat turns",
            [run.chat_rss / MIB for run in serve],
            unit="MiB",
            note="what the first turn builds stays",
        )
    )
    figures.append(
        Figure(
            f"{mode}: first chat turn after start",
            [run.turns[0] * 1000 for run in serve],
            note="whole reply, zero-latency fake Gemini",
        )
    )
    figures.append(
        Figure(
            f"{mode}: first chat turn after the rehearsal",
            [run.turns[0] * 1000 for run in prepared],
            note="POST /api/chat/prepare, as the web UI sends on the first keystroke",
        )
    )
    figures.append(
        Figure(
            f"{mode}: the rehearsal itself",
            [run.rehearsal * 1000 for run in prepared if run.rehearsal is not None],
            note="paid while the person types",
        )
    )
    for label, runs_of, note in (
        ("while the rehearsal runs", prepared, "it shares the server's event loop"),
        ("in a quiet server (baseline)", serve, ""),
    ):
        polls = [t * 1000 for run in runs_of for t in run.polls]
        figures.append(
            Figure(
                f"{mode}: GET /api/tasks {label}",
                polls,
                note=", ".join(filter(None, (note, f"max {max(polls, default=0):.0f} ms"))),
            )
        )
    figures.append(
        Figure(
            f"{mode}: later chat turns",
            [turn * 1000 for run in serve for turn in run.turns[1:]],
        )
    )
    with tempfile.TemporaryDirectory(prefix="taskchat-bench-") as data_dir:
        _, first_server, _ = window_idle_rss(binary, display, data_dir=data_dir)
        window, server, helpers = window_idle_rss(binary, display, data_dir=data_dir)
    figures.append(
        Figure(
            f"{mode}: idle RSS, window's server process",
            [server / MIB],
            unit="MiB",
            target=RSS_TARGET,
            note="`serve --stdin-control`, the window's child",
        )
    )
    figures.append(
        Figure(
            f"{mode}: idle RSS, window's server process, first launch",
            [first_server / MIB],
            unit="MiB",
            note="a new data folder",
        )
    )
    figures.append(Figure(f"{mode}: idle RSS, window process (Qt)", [window / MIB], unit="MiB"))
    figures.append(
        Figure(
            f"{mode}: idle RSS, Qt WebEngine helpers",
            [helpers / MIB],
            unit="MiB",
            note="renderer + GPU processes, summed",
        )
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--modes", nargs="+", default=["onedir", "onefile"], choices=["onedir", "onefile"]
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-build", action="store_true", help="measure the existing dist/")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        raise SystemExit("this benchmark measures the Linux builds")
    figures: list[Figure] = []
    with virtual_display() as display:
        for mode in args.modes:
            figures += measure(mode, args.runs, not args.no_build, display)
    report("TaskChat desktop binary (Linux)", "desktop", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
