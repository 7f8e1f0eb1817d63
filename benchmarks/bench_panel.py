"""Task panel frame times in Chromium with 5,000 tasks in one view: scrolling and dragging.

The real server (`python -m app serve` through benchmarks/serving.py, a temporary data
folder) and the built web UI (webui/dist) in headless Chromium (Debian's, driven by
Playwright). 5,000 tasks are imported into the Inbox in one POST /api/import, the panel
shows them all in "my order" (ten pages loaded), and a requestAnimationFrame loop records
the interval between frames (the frame timestamps Chromium hands to rAF) while

- the panel scrolls through the whole list with the mouse wheel, and
- a task is dragged (HTML drag and drop) down across the rows and dropped.

A frame interval over 16.7 ms is a frame that was late (60 Hz). The idle page is measured in
the same run as the baseline: on a machine shared with other work, late idle frames are the
machine's, not the panel's. Chromium's own counters (Performance.getMetrics: task, script,
layout and style time) give the mean main-thread work per frame next to each figure.
Needs Chromium, the playwright package and `npm run build`.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from app.lists.ordering import keys_after
from benchmarks.report import Figure, print_table, write_json
from benchmarks.serving import serve, session_headers

ROOT = Path(__file__).resolve().parents[1]
FRAME_MS = 16.7
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

# Records every frame's timestamp (rAF's argument: the frame's start) until stopped.
RECORD_JS = """() => {
  window.__frames = []
  window.__recording = true
  const tick = (t) => {
    window.__frames.push(t)
    if (window.__recording) requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
}"""
STOP_JS = """() => {
  window.__recording = false
  const f = window.__frames
  return f.slice(1).map((t, i) => t - f[i])
}"""


def seed_tasks(client: httpx.Client, n: int, *, prefix: str = "Task") -> None:
    """`n` open top-level tasks in the Inbox, in order, in one POST /api/import (an export
    of one real task, copied): far faster than n POSTs, and the same validation."""
    first = client.post("/api/tasks", json={"title": f"{prefix} 0000"})
    first.raise_for_status()
    export = client.get("/api/export")
    export.raise_for_status()
    with zipfile.ZipFile(io.BytesIO(export.content)) as zf:
        data = json.loads(zf.read("export.json"))
    template = next(t for t in data["tasks"] if t["id"] == first.json()["id"])
    keys = keys_after(template.get("position") or "a0", n - 1)
    tasks = [template]
    for i, key in enumerate(keys, start=1):
        tasks.append(
            {**template, "id": str(uuid.uuid4()), "title": f"{prefix} {i:04d}", "position": key}
        )
    data["tasks"] = tasks
    data["threads"], data["links"] = [], []
    r = client.post("/api/import", content=json.dumps(data).encode(), timeout=300)
    r.raise_for_status()


@contextmanager
def serving_tasks(data_dir: str, n: int) -> Iterator[tuple[str, dict[str, str]]]:
    """The real server (`serve`) on `data_dir` with `n` tasks seeded (`seed_tasks`): its
    base URL and a session's headers, while it runs."""
    env = {
        **os.environ,
        "TASKCHAT_DATA_DIR": data_dir,
        "GEMINI_API_KEY": "AIzaBench-not-a-real-key",
        # No chat here: a call to Gemini would fail fast at an unreachable port.
        "GEMINI_BASE_URL": "http://127.0.0.1:9/",
    }
    with serve(env, stderr_to=Path(data_dir) / "server.log") as (base, launch, _proc):
        headers = session_headers(launch)
        with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
            seed_tasks(client, n)
        yield base, headers


def chromium() -> str:
    import shutil

    found = os.environ.get("TASKCHAT_CHROMIUM") or shutil.which("chromium")
    if not found:
        raise SystemExit("Chromium not found (apt-get install chromium, or set TASKCHAT_CHROMIUM)")
    return found


def load_all(page: Any, n: int) -> None:
    """Scroll to the end until every page of the view is loaded."""
    rows = page.get_by_test_id("task-list")
    panel = page.get_by_test_id("task-panel")
    deadline = time.monotonic() + 120
    while rows.get_attribute("data-rows") != str(n):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {rows.get_attribute('data-rows')} of {n} rows loaded")
        panel.evaluate("el => { el.scrollTop = el.scrollHeight }")
        page.wait_for_timeout(200)
    panel.evaluate("el => { el.scrollTop = 0 }")


def busy(cdp: Any) -> dict[str, float]:
    """Chromium's running totals of main-thread work (seconds): tasks, script, layout, style."""
    got = cdp.send("Performance.getMetrics")["metrics"]
    return {m["name"]: m["value"] for m in got}


def per_frame(before: dict[str, float], after: dict[str, float], frames: int) -> dict[str, float]:
    """Mean main-thread work per frame (ms) between two getMetrics readings."""
    out = {}
    for key, name in (
        ("TaskDuration", "main_thread_ms_per_frame"),
        ("ScriptDuration", "script_ms_per_frame"),
        ("LayoutDuration", "layout_ms_per_frame"),
        ("RecalcStyleDuration", "style_ms_per_frame"),
    ):
        out[name] = round((after.get(key, 0) - before.get(key, 0)) * 1000 / max(1, frames), 2)
    return out


TRACE_CATEGORIES = ["toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline"]


def main_thread_cpu_per_frame(trace: bytes) -> list[float]:
    """From a Chromium trace: the renderer main thread's CPU time (the tasks' thread
    durations, `tdur`) in each frame, frames cut at each requestAnimationFrame firing. CPU
    time leaves out the time the thread waited for a core, so it is the panel's own cost
    even on a machine shared with other work."""
    events = json.loads(trace)
    events = events.get("traceEvents", events) if isinstance(events, dict) else events
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M"
        and e.get("name") == "thread_name"
        and e.get("args", {}).get("name") == "CrRendererMain"
    }
    frames = sorted(
        e["ts"]
        for e in events
        if e.get("name") == "FireAnimationFrame" and (e["pid"], e["tid"]) in main
    )
    tasks = sorted(
        (e["ts"], e.get("tdur", 0))
        for e in events
        if e.get("name") == "RunTask" and e.get("ph") == "X" and (e["pid"], e["tid"]) in main
    )
    out, j = [], 0
    for start, end in itertools.pairwise(frames):
        total = 0
        while j < len(tasks) and tasks[j][0] < start:
            j += 1
        while j < len(tasks) and tasks[j][0] < end:
            total += tasks[j][1]
            j += 1
        out.append(total / 1000)
    return out


def measure(
    browser: Any, page: Any, cdp: Any, n: int, *, steps: int
) -> tuple[dict[str, list[float]], dict, dict[str, list[float]]]:
    panel = page.get_by_test_id("task-panel")
    box = panel.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    out: dict[str, list[float]] = {}
    work: dict[str, dict[str, float]] = {}
    cpu: dict[str, list[float]] = {}

    # Baseline: the same page, nothing happening.
    before = busy(cdp)
    page.evaluate(RECORD_JS)
    page.wait_for_timeout(3000)
    out["idle"] = page.evaluate(STOP_JS)
    work["idle"] = per_frame(before, busy(cdp), len(out["idle"]))

    # Scrolling: wheel steps of 120 px, one per frame or so, top to (near) the end.
    page.mouse.move(cx, cy)
    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    before = busy(cdp)
    page.evaluate(RECORD_JS)
    for _ in range(steps):
        page.mouse.wheel(0, 120 * max(1, n // (steps * 8)))
        page.wait_for_timeout(16)
    page.wait_for_timeout(300)
    out["scroll"] = page.evaluate(STOP_JS)
    work["scroll"] = per_frame(before, busy(cdp), len(out["scroll"]))
    cpu["scroll"] = main_thread_cpu_per_frame(browser.stop_tracing())
    scrolled = panel.evaluate("el => el.scrollTop")
    if scrolled < 1000:
        raise RuntimeError(f"the panel did not scroll ({scrolled}px)")

    # Dragging: pick up a row near the top and move across the rows below, in small steps.
    panel.evaluate("el => { el.scrollTop = el.scrollHeight / 2 }")
    page.wait_for_timeout(300)
    rows = page.locator("[data-testid=task-item][draggable=true]")
    first = rows.nth(3).bounding_box()
    page.mouse.move(first["x"] + 40, first["y"] + first["height"] / 2)
    page.mouse.down()
    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    before = busy(cdp)
    page.evaluate(RECORD_JS)
    y0 = first["y"] + first["height"] / 2
    span = box["y"] + box["height"] - 20 - y0
    for i in range(steps):
        page.mouse.move(first["x"] + 60, y0 + span * ((i * 7) % steps) / steps, steps=1)
        page.wait_for_timeout(16)
    out["drag"] = page.evaluate(STOP_JS)
    work["drag"] = per_frame(before, busy(cdp), len(out["drag"]))
    page.mouse.up()
    cpu["drag"] = main_thread_cpu_per_frame(browser.stop_tracing())
    return out, work, cpu


def in_chromium(base: str, cookie: str, n: int, steps: int) -> tuple[dict, dict, dict]:
    """Open the panel signed in with the session cookie, load all n rows, measure."""
    from playwright.sync_api import sync_playwright

    cookies = [
        {"name": k, "value": v, "url": base}
        for k, _, v in (part.partition("=") for part in cookie.split("; "))
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
        context.add_cookies(cookies)  # type: ignore[arg-type]
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/?chat=builtin")
        page.get_by_test_id("task-sort").select_option("position")
        load_all(page, n)
        result = measure(browser, page, cdp, n, steps=steps)
        browser.close()
    if errors:
        raise RuntimeError(f"page errors: {errors[:3]}")
    return result


def frame_figure(
    name: str, intervals: list[float], idle: bool, note: str, extra: dict | None = None
) -> Figure:
    """Frame intervals (ms) as a figure, with the share of late frames (over 16.7 ms)."""
    late = sum(1 for s in intervals if s > FRAME_MS + 0.5) / max(1, len(intervals))
    return Figure(
        name=name,
        samples=intervals,
        target="" if idle else f"p95 <= {FRAME_MS} ms",
        note=note,
        extra={"late_frames_pct": round(late * 100, 1), **(extra or {})},
    )


def run(n: int, steps: int) -> list[Figure]:
    if not (ROOT / "webui" / "dist" / "index.html").exists():
        raise SystemExit("build the web UI first: cd webui && npm run build")
    load = os.getloadavg()
    note = f"{n:,} tasks in one view; load average {load[0]:.1f} (2 cores, shared)"
    with tempfile.TemporaryDirectory() as tmp, serving_tasks(tmp, n) as (base, headers):
        frames, work, cpu = in_chromium(base, headers["Cookie"], n, steps)
    figures = []
    for key, label in (
        ("idle", "idle page (baseline, same run)"),
        ("scroll", "frame interval while scrolling"),
        ("drag", "frame interval while dragging a task"),
    ):
        extra = {"load_1min": round(load[0], 2), **work[key]}
        figures.append(
            frame_figure(f"{label}, {n:,} tasks", frames[key], key == "idle", note, extra)
        )
    for key, label in (("scroll", "scrolling"), ("drag", "dragging a task")):
        figures.append(
            Figure(
                name=f"main-thread CPU per frame while {label}, {n:,} tasks",
                samples=cpu[key] or [float("nan")],
                target="p95 <= 16.7 ms (the frame budget)",
                note=f"{note}; CPU time from a Chromium trace",
            )
        )
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=5_000)
    parser.add_argument("--steps", type=int, default=150, help="wheel steps / drag moves")
    args = parser.parse_args(argv)
    figures = run(args.tasks, args.steps)
    print_table(f"Task panel in Chromium ({args.tasks:,} tasks)", figures)
    for f in figures:
        print(f"{f.name}: {f.extra}")
    print(f"written {write_json('panel', figures, tasks=args.tasks)}")
    return {f.name: f.to_json() for f in figures}


if __name__ == "__main__":
    main()
