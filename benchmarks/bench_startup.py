"""The server's start path against baselines, in one run: imports, memory, first answers.

    python -m benchmarks.bench_startup [--runs 5] [--baseline LABEL=REV ...] [--window]

Each tree is this checkout ("this") or a commit (`--baseline before=25e1c7b`: `git archive`d
into a temporary folder, served with this checkout's built web UI and this interpreter).
Rounds alternate the trees (in a rotating order), each tree with its own data folder,
opened once before the timed runs. Per tree and round:

* `import app.main` in a new interpreter with the GC paused (as app/boot.py does): its CPU
  time, the modules it loads, the PSS it adds (/proc/self/smaps_rollup), and the
  cumulative `-X importtime` of app.main;
* `taskchat serve` from its start: /api/health answering, then what the web UI asks first
  (settings, lists, tasks, today, sync status, updates, notices, all at once, after the
  launch token) and the conversation list (threads.list via /api/chatkit, sent with them),
  the server's CPU time at each, its PSS once idle, and one chat turn (fake Gemini) sent
  after the list answered, as the person's first message;
* a "cold chat" `serve`: a chat turn as the very first request after /api/health (a client
  that sends at once, before any list), request to the end of the reply;
* with `--typing 0 1 2` (seconds): a `serve` that answers the UI's first requests and the
  conversation list, then is asked for the rehearsal (POST /api/chat/prepare, as the web UI
  does at the first keystroke) and gets the first message that many seconds later; the
  model's first token comes after 300 ms (`--first-token`). Request → first text delta:
  what the person waits for their first reply, whenever the chat machinery loads;
* with `--window` (Linux, Xvfb): the window's `--self-test` from source — launch → health,
  → UI painted, → the conversation list answered (its request in window.log), and the
  whole app's PSS (window, web view helpers) `--idle` seconds after the UI painted.

Times are wall seconds from the process start unless said; CPU next to them, and the load
average, because this runs on shared 2-core machines.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from benchmarks.bench_footprint import foreign_sharers, launch_until_painted
from benchmarks.report import Figure, report
from tests.fakes.gemini import FakeGemini, Text

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
TICKS = os.sysconf("SC_CLK_TCK")
URL_LINE = re.compile(r"^TaskChat running at (http://127\.0\.0\.1:\d+)/\?launch=(\S+)$")
FOREIGN_WAIT_S = 30.0  # at most, for another program's web view to end (see measure_window)
THREADS_LIST = json.dumps({"type": "threads.list", "params": {"limit": 50, "order": "desc"}})
TURN = json.dumps(
    {
        "type": "threads.create",
        "params": {
            "input": {
                "content": [{"type": "input_text", "text": "hello"}],
                "attachments": [],
                "inference_options": {},
            }
        },
    }
)
# What the web UI asks for when its page is up (besides the conversation list).
FIRST_GETS = (
    "/api/settings",
    "/api/lists",
    "/api/tasks?limit=50",
    "/api/tasks?view=today&limit=50",
    "/api/sync/status",
    "/api/updates",
    "/api/reminders/notices",
)
IMPORT_PROBE = """
import gc, sys, time
gc.disable()
def pss():
    with open("/proc/self/smaps_rollup") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("Pss:")) * 1024
before, n, t = pss(), len(sys.modules), time.process_time()
import app.main
print(time.process_time() - t, len(sys.modules) - n, pss() - before)
"""


@dataclass
class Tree:
    label: str
    path: Path
    data_dir: str
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.samples.setdefault(name, []).append(value)


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """`rev` of this repository in a temporary folder, with this checkout's built UI."""
    with tempfile.TemporaryDirectory(prefix="taskchat-startup-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        dist = Path(tmp) / "webui" / "dist"
        shutil.rmtree(dist, ignore_errors=True)
        dist.symlink_to(ROOT / "webui" / "dist")
        yield Path(tmp)


def env_for(tree: Tree, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKCHAT_", "GEMINI_"))}
    env.update(
        TASKCHAT_DATA_DIR=tree.data_dir,
        GEMINI_API_KEY="fake-bench-key-not-real",
        TASKCHAT_UPDATE_CHECK="0",
        TASKCHAT_MAX_RETRIES="0",
        PYTHONPATH=str(tree.path),
    )
    env.update(extra)
    return env


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def pss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("Pss:")) * 1024


def measure_import(tree: Tree) -> None:
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE],
        cwd=tree.path,
        env=env_for(tree),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    tree.add("import app.main, CPU", float(out[0]))
    tree.add("import app.main, modules", float(out[1]))
    tree.add("import app.main, PSS added", int(out[2]) / MIB)
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app.main"],
        cwd=tree.path,
        env=env_for(tree),
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    cumulative = re.search(r"\|\s+(\d+) \| app\.main$", err, re.M)
    assert cumulative, "no app.main line in -X importtime's output"
    tree.add("import app.main, -X importtime cumulative", int(cumulative.group(1)) / 1e6)


class Serve:
    """`python -m app serve` of a tree, timed from just before it was started."""

    def __init__(self, tree: Tree, gemini_url: str) -> None:
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", "0"],
            cwd=tree.path,
            env=env_for(tree, GEMINI_BASE_URL=gemini_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline().strip()  # type: ignore[union-attr]
        match = URL_LINE.match(line)
        if not match:
            raise RuntimeError(f"{tree.label}: serve printed {line!r}")
        self.base, self.launch = match.group(1), line.split(" at ", 1)[1]
        self.cookie = ""

    def since(self) -> float:
        return time.perf_counter() - self.t0

    def request(self, path: str, body: str | None = None) -> bytes:
        headers = {"Cookie": self.cookie, "Content-Type": "application/json"}
        req = urllib.request.Request(
            self.base + path, data=body.encode() if body else None, headers=headers
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.read()

    def health(self) -> float:
        while True:
            with contextlib.suppress(OSError):
                self.request("/api/health")
                return self.since()
            time.sleep(0.005)

    def sign_in(self) -> None:
        opener = urllib.request.build_opener(NoRedirect)
        with contextlib.suppress(urllib.error.HTTPError):
            opener.open(self.launch, timeout=60)
        self.cookie = NoRedirect.cookie

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    cookie = ""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        NoRedirect.cookie = "; ".join(
            v.split(";", 1)[0] for v in headers.get_all("set-cookie") or []
        )
        return None


def measure_serve(tree: Tree, gemini: FakeGemini) -> None:
    s = Serve(tree, gemini.base_url)
    try:
        tree.add("serve → /api/health", s.health())
        tree.add("serve: CPU at /api/health", cpu_seconds(s.proc.pid))
        s.sign_in()
        done: dict[str, float] = {}

        def get(path: str) -> None:
            s.request(path)
            done[path] = s.since()

        def threads() -> None:
            reply = json.loads(s.request("/api/chatkit", THREADS_LIST))
            assert "data" in reply, reply
            done["threads"] = s.since()
            done["threads cpu"] = cpu_seconds(s.proc.pid)

        with ThreadPoolExecutor(len(FIRST_GETS) + 1) as pool:
            list(pool.map(lambda f: f(), [threads] + [lambda p=p: get(p) for p in FIRST_GETS]))
        tree.add("serve: the UI's first REST answers (all)", max(done[p] for p in FIRST_GETS))
        tree.add("serve: conversation list answered", done["threads"])
        tree.add("serve: CPU at the conversation list", done["threads cpu"])
        t = time.perf_counter()
        reply = s.request("/api/chatkit", TURN)
        tree.add("serve: first chat turn after the list", time.perf_counter() - t)
        assert b"there" in reply, reply[:300]
        time.sleep(1.0)
        tree.add("serve: PSS, idle after the list and one turn", pss_bytes(s.proc.pid) / MIB)
    finally:
        s.stop()


def first_delta(s: Serve, body: str) -> float:
    """Seconds from sending `body` (a streaming ChatKit request) to its first text delta;
    the rest of the reply is read and dropped."""
    headers = {"Cookie": s.cookie, "Content-Type": "application/json"}
    req = urllib.request.Request(s.base + "/api/chatkit", data=body.encode(), headers=headers)
    t = time.perf_counter()
    seen = None
    with urllib.request.urlopen(req, timeout=120) as r:
        for line in r:
            if seen is None and b"text_delta" in line:
                seen = time.perf_counter() - t
    if seen is None:
        raise RuntimeError("the reply had no text")
    return seen


def measure_typing(tree: Tree, gemini: FakeGemini, typing: float) -> None:
    s = Serve(tree, gemini.base_url)
    try:
        s.health()
        s.sign_in()
        with ThreadPoolExecutor(len(FIRST_GETS) + 1) as pool:
            bodies = [None] * len(FIRST_GETS) + [THREADS_LIST]
            paths = [*FIRST_GETS, "/api/chatkit"]
            list(pool.map(s.request, paths, bodies))
        # The first keystroke: the web UI does not wait for the answer, which comes once
        # the chat machinery is loaded.
        with ThreadPoolExecutor(1) as pool:
            prepared = pool.submit(s.request, "/api/chat/prepare", "{}")
            time.sleep(typing)
            tree.add(
                f"serve: first message {typing:g} s after the first keystroke → first text delta",
                first_delta(s, TURN),
            )
            prepared.result()
    finally:
        s.stop()


def measure_cold_chat(tree: Tree, gemini: FakeGemini) -> None:
    s = Serve(tree, gemini.base_url)
    try:
        s.health()
        s.sign_in()
        t = time.perf_counter()
        reply = s.request("/api/chatkit", TURN)
        tree.add("serve: a chat turn as the first request", time.perf_counter() - t)
        assert b"there" in reply, reply[:300]
    finally:
        s.stop()


LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def log_epoch(line: str) -> float:
    stamp = LOG_TIME.match(line)
    assert stamp
    return datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()


def measure_window(tree: Tree, display: str, idle: float) -> None:
    env = env_for(tree, DISPLAY=display, TASKCHAT_SELF_TEST_HOLD=str(idle + FOREIGN_WAIT_S + 3))
    env.pop("WAYLAND_DISPLAY", None)
    launch = launch_until_painted(
        [sys.executable, "-m", "app"], env, tree.data_dir, tree.label, cwd=tree.path
    )
    try:
        pids = launch.settle(idle)  # as bench_footprint: idle, UI painted
        if foreign_sharers(set(pids)):
            print(f"note: {tree.label}: another web view ran: no PSS sample", file=sys.stderr)
        else:
            total = sum(b for b, _ in pids.values()) / MIB
            tree.add("window: whole-app PSS, idle after the UI painted", total)
    finally:
        launch.close()
    text = launch.text()
    for name, label in (("health", "/api/health"), ("ui", "UI painted")):
        timing = re.search(rf"self-test/launch timing {name}=([\d.]+)s", text)
        assert timing, f"{tree.label}: no {name} timing in window.log"
        tree.add(f"window: launch → {label}", float(timing.group(1)))
    listed = [ln for ln in text.splitlines() if "Received request op: threads.list" in ln]
    if listed:
        tree.add("window: launch → conversation list answered", log_epoch(listed[0]) - launch.epoch)
    else:
        print(f"note: {tree.label}: no threads.list while the window was open", file=sys.stderr)


def figures(trees: list[Tree]) -> list[Figure]:
    base = trees[1] if len(trees) > 1 else None
    result = []
    for tree in trees:
        for name, samples in tree.samples.items():
            unit = "MiB" if "PSS" in name else ("" if "modules" in name else "s")
            extra = {}
            if base is not None and tree is not base and name in base.samples:
                b = sorted(base.samples[name])[len(base.samples[name]) // 2]
                m = sorted(samples)[len(samples) // 2]
                if b:
                    extra[f"ratio to {base.label} (medians)"] = m / b
            note = ", ".join(f"{k} {v:.2f}" for k, v in extra.items())
            result.append(Figure(f"{tree.label}: {name}", samples, unit, note=note, extra=extra))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="LABEL=REV",
        help="a commit to compare with (repeatable); the first is the ratios' base",
    )
    parser.add_argument("--window", action="store_true", help="also the window (Xvfb)")
    parser.add_argument(
        "--idle", type=float, default=5.0, help="seconds after the UI painted to sample PSS"
    )
    parser.add_argument(
        "--typing",
        type=float,
        nargs="*",
        default=[],
        help="seconds between the first keystroke and the first message (see above)",
    )
    parser.add_argument(
        "--first-token", type=float, default=0.3, help="the model's first token for --typing"
    )
    parser.add_argument("--quick", action="store_true", help="one run of this checkout")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.baseline, args.window, args.typing = 1, [], False, []
    gemini = FakeGemini().start()
    gemini.default = Text(["Hello", " there", "!"])
    slow = FakeGemini().start()  # a realistic model: the first token takes its time
    slow.default = Text(["Hello", " there", "!"], first_delay=args.first_token)
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        display = None
        if args.window:
            from tests.xvfb import virtual_display

            display = stack.enter_context(virtual_display())
        trees = [Tree("this", ROOT, stack.enter_context(tempfile.TemporaryDirectory()))]
        for spec in args.baseline:
            label, _, rev = spec.partition("=")
            path = stack.enter_context(checkout(rev or label))
            trees.append(Tree(label, path, stack.enter_context(tempfile.TemporaryDirectory())))
        for tree in trees:  # the data folder made and migrated, bytecode compiled: not timed
            measure_cold_chat(tree, gemini)
            tree.samples.clear()
        for run in range(args.runs):
            order = trees[run % len(trees) :] + trees[: run % len(trees)]
            for tree in order:
                measure_import(tree)
                measure_serve(tree, gemini)
                measure_cold_chat(tree, gemini)
                for typing in args.typing:
                    measure_typing(tree, slow, typing)
                if display is not None:
                    measure_window(tree, display, args.idle)
            print(f"round {run + 1}/{args.runs} done, load {os.getloadavg()[0]:.2f}", flush=True)
    gemini.stop()
    slow.stop()
    load_after = os.getloadavg()
    report(
        "TaskChat start-up: this checkout against baselines (same run)",
        "startup",
        figures(trees),
        load_average_before=load_before,
        load_average_after_run=load_after,
        trees={t.label: str(t.path) for t in trees},
        samples={t.label: t.samples for t in trees},
        baselines=args.baseline,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
