"""`taskchat --self-test`: open the real window, check the rendered UI, print one line.

The check runs in pywebview's worker thread once the window exists: it polls the DOM via
`window.evaluate_js` until the UI has decided its chat view (`body[data-chat-mode]` is
'chatkit' or 'builtin') and the task panel (`[data-testid="task-panel"]`) is on screen,
optionally saves a PNG of the window (`--screenshot PATH`), closes the window and lets
the normal shutdown run. Exactly one line is printed:

    SELF-TEST OK chat=builtin health=0.62s ui=1.40s shutdown=0.11s backend=gtk
    SELF-TEST FAILED: <reason>

and the exit status is 0 or 1. Times are seconds since the process started.

Where OpenAI's CDN is reachable (CI), TASKCHAT_SELF_TEST_CHATKIT=require makes the built-in
fallback a failure: the real `<openai-chatkit>` view must load. With
TASKCHAT_SELF_TEST_MESSAGE the check then sends that message through the component and
waits until the task panel shows TASKCHAT_SELF_TEST_EXPECT_TASK (the task the model's tool
call created: the turn went through ChatKit, the server, the model and back to the UI).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.desktop import backend

log = logging.getLogger(__name__)

UI_TIMEOUT_S = 45.0
CHAT_TIMEOUT_S = 60.0

# One JSON string describing what the window shows (evaluate_js returns it as text).
PROBE_JS = """JSON.stringify({
  mode: (document.body && document.body.dataset.chatMode) || null,
  panel: !!document.querySelector('[data-testid="task-panel"]'),
  root: !!document.querySelector('[data-testid="app-root"]'),
  expired: !!document.querySelector('[data-testid="session-expired"]'),
  path: location.pathname + location.search,
  title: document.title,
  ready: document.readyState
})"""


def evaluate_expression(window: Any, script: str) -> Any:
    """Run `script` in the page and return its (JSON-decoded) value.

    pywebview's `window.evaluate_js` wraps the script in `eval()`, which the UI's Content
    Security Policy forbids (no 'unsafe-eval', on purpose). The backend's own
    evaluate_js (Qt runJavaScript, WebView2 ExecuteScriptAsync, WKWebView
    evaluateJavaScript) runs the script as an injected script, which CSP does not block;
    it is the same call pywebview makes, minus the eval wrapper.
    """
    gui = getattr(window, "gui", None)
    if gui is not None and hasattr(gui, "evaluate_js") and gui.renderer != "cef":
        return gui.evaluate_js(script, window.uid, True)
    return window.evaluate_js(script)


def process_start() -> float:
    """Wall-clock time this process started (Linux: from /proc; else first import).

    TASKCHAT_LAUNCH_EPOCH (seconds since the epoch) overrides it: benchmarks/bench_desktop.py
    sets it just before starting the binary, so the one-file build's unpacking is counted.
    """
    raw = os.environ.get("TASKCHAT_LAUNCH_EPOCH")
    if raw:
        with contextlib.suppress(ValueError):
            return float(raw)
    return _PROCESS_START


def _read_process_start() -> float:
    """The kernel's start time of this process (clock ticks since boot), as wall time.

    Read against CLOCK_BOOTTIME, the clock that start time counts on, not against
    /proc/stat's `btime`: that one is whole seconds and drifts from the wall clock, which
    put the start up to ~0.4 s too early (every time= of the self-test line too long).
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started
        return time.time() - age
    except (OSError, ValueError, IndexError, AttributeError):
        return time.time()


_PROCESS_START = _read_process_start()


class Reporter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.times: dict[str, float] = {}
        self.details: dict[str, str] = {}
        self.failure: str | None = None
        self._printed = False

    def mark(self, name: str, seconds: float) -> None:
        self.times[name] = seconds
        log.info("self-test/launch timing %s=%.2fs", name, seconds)

    def fail_later(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason

    def _print(self, line: str) -> None:
        if self.enabled and not self._printed:
            self._printed = True
            print(line, flush=True)

    def failed(self, reason: str) -> int:
        reason = " ".join(str(reason).split())
        if self.enabled:
            log.error("self-test failed: %s", reason)
        self._print(f"SELF-TEST FAILED: {reason}")
        return 1

    def finish(self) -> int:
        if self.failure is not None:
            return self.failed(self.failure)
        parts = [f"{k}={v}" for k, v in self.details.items()]
        parts += [f"{k}={v:.2f}s" for k, v in self.times.items()]
        parts.append(f"backend={backend.gui_name()}")
        self._print("SELF-TEST OK " + " ".join(parts))
        return 0

    # -------------------------------------------------------------------- the checker
    def checker(
        self,
        window: Any,
        invoker: backend.GuiInvoker,
        server: Any,
        screenshot: Path | None,
        close: Callable[[], None],
    ) -> Callable[[], None]:
        def run() -> None:
            try:
                state = self._wait_for_ui(window)
                self.mark("ui", time.time() - process_start())
                self.details["chat"] = str(state["mode"])
                self._check_chatkit(window, state)
                hold = os.environ.get("TASKCHAT_SELF_TEST_HOLD")
                if hold:  # benchmarks/bench_footprint.py measures the idle window meanwhile
                    log.info("self-test: holding the window open for %s s", hold)
                    window.events.closed.wait(float(hold))  # or until it is closed
                if screenshot is not None:
                    time.sleep(0.5)  # let the compositor put the last frame on screen
                    try:
                        backend.grab_window(window, invoker, screenshot)
                        self.details["screenshot"] = str(screenshot)
                    except NotImplementedError as exc:  # Windows/macOS web views
                        log.warning("%s", exc)
                        self.details["screenshot"] = "unsupported"
            except Exception as exc:
                log.exception("self-test check failed")
                self.fail_later(f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc))
            finally:
                close()

        return run

    def _check_chatkit(self, window: Any, state: dict[str, Any]) -> None:
        if os.environ.get("TASKCHAT_SELF_TEST_CHATKIT") != "require":
            return
        if state.get("mode") != "chatkit":
            raise AssertionError(
                f"ChatKit was required, but the UI shows its {state.get('mode')} chat view "
                "(the ChatKit script did not load)"
            )
        message = os.environ.get("TASKCHAT_SELF_TEST_MESSAGE")
        expected = os.environ.get("TASKCHAT_SELF_TEST_EXPECT_TASK")
        if not message:
            return
        send = (
            "(function(){var el=document.querySelector('openai-chatkit');"
            "if(!el||!el.sendUserMessage)return 'no element';"
            f"el.sendUserMessage({{text:{json.dumps(message)}}});return 'sent';}})()"
        )
        deadline = time.monotonic() + CHAT_TIMEOUT_S
        while (sent := evaluate_expression(window, send)) != "sent":
            if time.monotonic() > deadline:
                raise AssertionError(f"could not send through <openai-chatkit>: {sent}")
            time.sleep(0.5)  # the component is still setting itself up
        if not expected:
            return
        probe = (
            "(function(){var p=document.querySelector('[data-testid=\"task-panel\"]');"
            f"return !!p && p.innerText.indexOf({json.dumps(expected)}) >= 0;}})()"
        )
        while time.monotonic() < deadline:
            if evaluate_expression(window, probe) is True:
                self.details["chatkit_turn"] = "ok"
                return
            time.sleep(0.2)
        raise TimeoutError(f"the task {expected!r} never appeared after the ChatKit message")

    def _wait_for_ui(self, window: Any) -> dict[str, Any]:
        if not window.events.loaded.wait(UI_TIMEOUT_S):
            raise TimeoutError("the window never finished loading the UI")
        deadline = time.monotonic() + UI_TIMEOUT_S
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            raw = evaluate_expression(window, PROBE_JS)
            try:
                state = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
            except (TypeError, ValueError):
                state = {}
            if state.get("expired"):
                raise AssertionError("the UI says the session expired: the launch link failed")
            if state.get("mode") in ("chatkit", "builtin") and state.get("panel"):
                return state
            time.sleep(0.05)
        raise TimeoutError(f"the UI did not render in {UI_TIMEOUT_S:.0f} s (last DOM: {state})")
