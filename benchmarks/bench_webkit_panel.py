"""Task panel frame times in WebKitGTK, the window's engine, with and without its JIT.

    python -m benchmarks.bench_webkit_panel [--tasks 5000] [--rounds 3] [--steps 240] [--quick]

The window runs WebKit's web process without JavaScriptCore's JIT (`JSC_useJIT=0`,
app/desktop/backend.py), which saves memory; this measures what it costs where the page
works hardest: the task panel with 5,000 tasks in one view (every page loaded), scrolled
from the top by the page itself, one step per frame. The real server
(`python -m app serve`, benchmarks/serving.py) and the built web UI; each round starts a
fresh web view per variant (JIT on, JIT off), taking turns, in a WebKitGTK window of the
window's size under a private Xvfb, with the window's switches (no compositing, no
hardware acceleration). Each records the interval between frames
(requestAnimationFrame's timestamps) while idle (the baseline, same run) and while
scrolling; a frame over 16.7 ms is late. Also the time to load all 5,000 rows (ten pages
fetched and rendered as the panel is scrolled to its end). Needs PyGObject with
WebKitGTK 4.1 and Xvfb (scripts/setup.sh --test) and `npm run build`.
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
from typing import Any

from benchmarks.bench_panel import frame_figure, serving_tasks
from benchmarks.report import Figure, report
from tests.xvfb import virtual_display

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"jit": "1", "no JIT": "0"}  # JSC_useJIT

# The page drives its own scrolling: `step` px a frame for `frames` frames, while every
# frame's timestamp is recorded; window.__result holds the intervals when done.
SCROLL_JS = """(() => {
  const panel = document.querySelector('[data-testid="task-panel"]')
  const frames = [], step = %(step)d, total = %(frames)d
  window.__result = null
  const tick = (t) => {
    frames.push(t)
    if (frames.length > total) {
      window.__result = JSON.stringify({
        intervals: frames.slice(1).map((v, i) => v - frames[i]), scrolled: panel.scrollTop
      })
      return
    }
    if (%(scroll)s) panel.scrollTop += step
    requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
  return 'started'
})()"""


def child(base: str, cookie: str, tasks: int, steps: int) -> dict[str, Any]:
    """In a process of its own (its JSC options come from its environment): open the
    panel in a WebKitGTK view, load every row, measure idle and scrolling."""
    import gi

    gi.require_version("Gtk", "3.0")
    gi.require_version("WebKit2", "4.1")
    gi.require_version("Soup", "3.0")
    from gi.repository import GLib, Gtk, Soup, WebKit2

    context = GLib.MainContext.default()

    def wait_for(done: dict[str, Any], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "value" not in done:
            if time.monotonic() > deadline:
                raise TimeoutError("WebKit did not answer")
            context.iteration(True)

    view = WebKit2.WebView()
    settings = view.get_settings()
    settings.set_hardware_acceleration_policy(WebKit2.HardwareAccelerationPolicy.NEVER)
    window = Gtk.Window()
    window.set_default_size(1280, 800)
    window.add(view)
    window.show_all()

    def js(script: str) -> Any:
        done: dict[str, Any] = {}

        def finished(obj: Any, result: Any) -> None:
            done["value"] = obj.evaluate_javascript_finish(result).to_string()

        view.evaluate_javascript(script, -1, None, None, None, finished)
        wait_for(done)
        return done["value"]

    def pause(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not context.iteration(False):
                time.sleep(0.005)  # nothing to dispatch

    added: dict[str, Any] = {}
    name, _, value = cookie.partition("=")
    jar = view.get_context().get_website_data_manager().get_cookie_manager()
    jar.add_cookie(
        Soup.Cookie.new(name, value, "127.0.0.1", "/", -1),
        None,
        lambda obj, result: added.setdefault("value", obj.add_cookie_finish(result)),
    )
    wait_for(added)
    view.load_uri(base + "/?chat=builtin")
    deadline = time.monotonic() + 60
    while js("!!document.querySelector('[data-testid=\"task-sort\"]')") != "true":
        if time.monotonic() > deadline:
            raise TimeoutError("the panel never showed")
        pause(0.1)
    js(
        "(() => { const s = document.querySelector('[data-testid=\"task-sort\"]');"
        " Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value')"
        ".set.call(s, 'position'); s.dispatchEvent(new Event('change', {bubbles: true}));"
        " return 1 })()"
    )
    rows = "document.querySelector('[data-testid=\"task-list\"]')?.dataset.rows"
    panel = "document.querySelector('[data-testid=\"task-panel\"]')"
    started = time.monotonic()
    while js(f"String({rows})") != str(tasks):
        if time.monotonic() - started > 120:
            raise TimeoutError(f"only {js(f'String({rows})')} of {tasks} rows loaded")
        js(f"(() => {{ {panel}.scrollTop = {panel}.scrollHeight; return 1 }})()")
        pause(0.1)
    loaded = time.monotonic() - started
    js(f"(() => {{ {panel}.scrollTop = 0; return 1 }})()")
    pause(0.5)
    out: dict[str, Any] = {"load_all_s": loaded}
    step = 120 * max(1, tasks // (steps * 8))
    for what, scroll in (("idle", "false"), ("scroll", "true")):
        js(SCROLL_JS % {"step": step, "frames": steps, "scroll": scroll})
        while js("String(window.__result)") == "null":
            pause(0.05)
        out[what] = json.loads(js("window.__result"))
    window.destroy()
    return out


def run(tasks: int, rounds: int, steps: int) -> list[Figure]:
    if not (ROOT / "webui" / "dist" / "index.html").exists():
        raise SystemExit("build the web UI first: cd webui && npm run build")
    load = os.getloadavg()
    samples: dict[str, dict[str, list[float]]] = {
        v: {"idle": [], "scroll": [], "load_all_s": []} for v in VARIANTS
    }
    with tempfile.TemporaryDirectory() as tmp, virtual_display() as display:
        with serving_tasks(tmp, tasks) as (base, headers):
            for _ in range(rounds):
                for variant, flag in VARIANTS.items():
                    child_env = {
                        **os.environ,
                        "DISPLAY": display,
                        "WEBKIT_DISABLE_COMPOSITING_MODE": "1",
                        "JSC_useJIT": flag,
                    }
                    child_env.pop("WAYLAND_DISPLAY", None)
                    args = [base, headers["Cookie"], str(tasks), str(steps)]
                    done = subprocess.run(
                        [sys.executable, "-m", "benchmarks.bench_webkit_panel", "--child", *args],
                        env=child_env,
                        capture_output=True,
                        text=True,
                        timeout=300,
                        cwd=ROOT,
                    )
                    if done.returncode != 0:
                        raise RuntimeError(f"{variant}: {done.stderr[-2000:]}")
                    got = json.loads(done.stdout.strip().splitlines()[-1])
                    if got["scroll"]["scrolled"] < 1000:
                        raise RuntimeError(f"{variant}: the panel did not scroll")
                    samples[variant]["idle"] += got["idle"]["intervals"]
                    samples[variant]["scroll"] += got["scroll"]["intervals"]
                    samples[variant]["load_all_s"].append(got["load_all_s"])
                    print(f"{variant}: rows loaded in {got['load_all_s']:.2f} s", flush=True)
    note = f"{tasks:,} tasks, {rounds} rounds; load average {load[0]:.1f} (2 cores, shared)"
    figures = []
    for variant in VARIANTS:
        for key, label in (("idle", "idle page (baseline)"), ("scroll", "while scrolling")):
            name = f"{variant}: frame interval, {label}"
            figures.append(frame_figure(name, samples[variant][key], key == "idle", note))
        figures.append(
            Figure(
                name=f"{variant}: all {tasks:,} rows loaded into the panel",
                samples=samples[variant]["load_all_s"],
                unit="s",
                note=note,
            )
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=240, help="frames scrolled per round")
    parser.add_argument("--quick", action="store_true", help="200 tasks, one short round")
    parser.add_argument("--child", nargs=4, metavar=("BASE", "COOKIE", "TASKS", "STEPS"))
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks, args.rounds, args.steps = 200, 1, 30
    if args.child:
        base, cookie, tasks, steps = args.child
        print(json.dumps(child(base, cookie, int(tasks), int(steps))))
        return 0
    report(
        "Task panel in WebKitGTK, JIT on / off",
        "webkit_panel",
        run(args.tasks, args.rounds, args.steps),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
