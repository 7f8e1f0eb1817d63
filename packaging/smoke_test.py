"""Smoke test of a built binary's `serve`: health plus one chat turn against a fake Gemini.

    python packaging/smoke_test.py dist/onedir/taskchat/taskchat [--timeout 60]

Starts `<binary> serve` in a fresh data folder with GEMINI_BASE_URL pointing at the fake
Gemini of tests/fakes/gemini.py (standard library only), reads the launch URL it prints,
trades the one-time token for the session cookie, checks /api/health, sends one message
over /api/chatkit (SSE) to which the fake answers with a create_task tool call and then
text, expects the reply, the `tasks_changed` effect and the task in /api/tasks (the
frozen agent, its tools and the database together), then stops the binary with SIGTERM
(CTRL_BREAK on Windows) and expects a clean exit. Prints one line `SMOKE OK ...` or
`SMOKE FAILED: reason` and exits 0 or 1. Needs nothing but Python.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.gemini import FakeGemini, Text, ToolCalls  # noqa: E402

FAKE_KEY = "fake-smoke-test-key-not-real"
REPLY = ["Smoke ", "test ", "reply."]
TASK_TITLE = "Smoke-test task"
URL_LINE = re.compile(r"TaskChat running at (http://127\.0\.0\.1:(\d+)/\?launch=\S+)")


class Failure(Exception):
    pass


def start_binary(
    binary: str, data_dir: str, fake: FakeGemini, *, api_key: str | None = FAKE_KEY, **extra: str
) -> subprocess.Popen[str]:
    """`<binary> serve` on `data_dir` against `fake`; `api_key` None: no GEMINI_API_KEY, so
    the binary's own key store answers; `extra`: more environment variables."""
    env = dict(os.environ)
    for name in (
        "TASKCHAT_DATABASE_URL",
        "TASKCHAT_SYNC_URL",
        "TASKCHAT_WEBUI_DIR",
        "GEMINI_API_KEY",
    ):
        env.pop(name, None)
    env.update(
        TASKCHAT_DATA_DIR=data_dir,
        GEMINI_BASE_URL=fake.base_url,
        GEMINI_MODEL="gemini-2.5-flash",
        TASKCHAT_MAX_RETRIES="0",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    if api_key is not None:
        env["GEMINI_API_KEY"] = api_key
    kwargs: dict = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # for CTRL_BREAK
    return subprocess.Popen(
        [binary, "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        **kwargs,
    )


def read_launch_url(proc: subprocess.Popen[str], timeout: float, log: list[str]) -> str:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            raise Failure(f"the binary exited ({proc.wait()}) before printing its URL")
        log.append(line.rstrip())
        match = URL_LINE.search(line)
        if match:
            # Keep draining output so the binary never blocks on a full pipe.
            threading.Thread(
                target=lambda: [log.append(x) for x in iter(lines.get, None)], daemon=True
            ).start()
            return match.group(1)
    raise Failure(f"no 'TaskChat running at' line within {timeout:.0f} s")


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body=body, headers={"Connection": "close", **(headers or {})})
    return conn.getresponse()


def session_cookie(port: int, launch_query: str) -> str:
    """Trade the launch URL's one-time token for the session cookie, as the window does."""
    launch = request(port, "GET", f"/?{launch_query}", headers={"Accept": "text/html"})
    launch.read()
    cookies = [v.split(";", 1)[0] for k, v in launch.getheaders() if k.lower() == "set-cookie"]
    if launch.status not in (302, 303, 307) or not cookies:
        raise Failure(f"the launch link gave {launch.status} and no session cookie")
    return "; ".join(cookies)


def send_message(port: int, cookie: str, text: str, timeout: float) -> list[dict]:
    """Start a thread with `text` over /api/chatkit; the SSE events of the reply."""
    payload = {
        "type": "threads.create",
        "params": {
            "input": {
                "content": [{"type": "input_text", "text": text}],
                "attachments": [],
                "inference_options": {},
            }
        },
    }
    chat = request(
        port,
        "POST",
        "/api/chatkit",
        body=json.dumps(payload).encode(),
        headers={"Cookie": cookie, "Content-Type": "application/json"},
        timeout=timeout,
    )
    if chat.status != 200:
        raise Failure(f"/api/chatkit answered {chat.status}: {chat.read()[:300]!r}")
    lines = chat.read().decode("utf-8").splitlines()
    return [json.loads(line[6:]) for line in lines if line.startswith("data: ")]


def reply_text(events: list[dict]) -> str:
    """The assistant's text in the finished items of a reply."""
    return "".join(
        part.get("text", "")
        for event in events
        if event.get("type") == "thread.item.done"
        and (event.get("item") or {}).get("type") == "assistant_message"
        for part in event["item"].get("content", [])
    )


def run(binary: str, timeout: float) -> str:
    fake = FakeGemini().start()
    fake.push(ToolCalls([("create_task", {"title": TASK_TITLE, "priority": "high"})]))
    fake.default = Text(REPLY)
    log: list[str] = []
    with tempfile.TemporaryDirectory(prefix="taskchat-smoke-") as data_dir:
        t0 = time.perf_counter()
        proc = start_binary(binary, data_dir, fake)
        try:
            url = read_launch_url(proc, timeout, log)
            started = time.perf_counter() - t0
            parts = urlsplit(url)
            port = parts.port or 80

            health = request(port, "GET", "/api/health")
            if health.status != 200:
                raise Failure(f"/api/health answered {health.status}")
            health.read()

            cookie = session_cookie(port, parts.query)
            events = send_message(port, cookie, "Hello", timeout)
            text = reply_text(events)
            effects = [e.get("name") for e in events if e.get("type") == "client_effect"]
            if text != "".join(REPLY):
                raise Failure(f"expected the fake's reply, got {text!r}")
            if len(fake.requests) != 2:
                raise Failure(
                    f"expected 2 calls to the (fake) Gemini API (tool call, then "
                    f"the answer), got {len(fake.requests)}"
                )
            if "tasks_changed" not in effects:
                raise Failure(f"no tasks_changed effect after the tool call (got {effects})")
            tasks = request(port, "GET", "/api/tasks", headers={"Cookie": cookie})
            listed = json.loads(tasks.read()) if tasks.status == 200 else {}
            titles = [(t.get("title"), t.get("priority")) for t in listed.get("items", [])]
            if titles != [(TASK_TITLE, "high")]:
                raise Failure(
                    f"/api/tasks answered {tasks.status} with {titles} after the "
                    "create_task tool call"
                )
        except Failure:
            proc.kill()
            proc.wait(10)
            print("\n".join(log[-30:]), file=sys.stderr)
            raise
        finally:
            fake.stop()

        t_stop = time.perf_counter()
        if sys.platform == "win32":
            proc.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise Failure("the binary did not stop within 15 s of SIGTERM") from None
        stopped = time.perf_counter() - t_stop
        if code != 0 and sys.platform != "win32":
            print("\n".join(log[-30:]), file=sys.stderr)
            raise Failure(f"the binary exited with status {code} after SIGTERM")
        return f"start={started:.2f}s stop={stopped:.2f}s reply={text!r} task={TASK_TITLE!r}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args(argv)
    try:
        print("SMOKE OK " + run(args.binary, args.timeout), flush=True)
        return 0
    except Failure as exc:
        print(f"SMOKE FAILED: {exc}", flush=True)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
