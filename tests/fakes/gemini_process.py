"""The fake Gemini in a process of its own, scripted over a pipe (for latency benchmarks).

In the benchmark's own process the fake's handler threads share the interpreter lock with
whatever is measured there; Gemini never does. Replies are the dataclasses of
tests/fakes/gemini.py (they pickle).
"""

from __future__ import annotations

import base64
import pickle
import subprocess
import sys
from typing import IO, Any

from tests.fakes.gemini import FakeGemini, Reply

# One message a line each way: a pickled (command, args) in, a pickled answer out.


def _encode(value: Any) -> bytes:
    return base64.b64encode(pickle.dumps(value)) + b"\n"


def _decode(line: bytes) -> Any:
    return pickle.loads(base64.b64decode(line))


def _serve(commands: IO[bytes], answers: IO[bytes]) -> None:
    fake = FakeGemini().start()
    answers.write(_encode(fake.base_url))
    answers.flush()
    for line in commands:
        command, args = _decode(line)
        if command == "stop":
            break
        answers.write(_encode(_answer(fake, command, args)))
        answers.flush()
    fake.stop()


def _answer(fake: FakeGemini, command: str, args: tuple[Any, ...]) -> Any:
    if command == "push":
        fake.push(*args)
    elif command == "default":
        fake.default = args[0]
    elif command == "tool_call_sent_at":
        return list(fake.tool_call_sent_at)
    elif command == "request_count":
        return len(fake.requests)
    else:
        raise ValueError(f"unknown command {command!r}")
    return None


class FakeGeminiProcess:
    """FakeGemini's scripting calls, answered by a FakeGemini in a child process
    (`python -m tests.fakes.gemini_process`, talking over its standard input and output)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self) -> FakeGeminiProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.gemini_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.base_url = self._read()
        return self

    def _read(self) -> Any:
        assert self._process is not None and self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fake Gemini process exited ({self._process.wait()})")
        return _decode(line)

    def _call(self, command: str, *args: Any) -> Any:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(_encode((command, args)))
        self._process.stdin.flush()
        return self._read()

    def push(self, *replies: Reply) -> None:
        self._call("push", *replies)

    def set_default(self, reply: Reply) -> None:
        self._call("default", reply)

    @property
    def tool_call_sent_at(self) -> list[float]:
        """time.perf_counter() of each tool-call chunk written: a system-wide monotonic
        clock on Linux, macOS and Windows, so comparable with this process's readings."""
        return self._call("tool_call_sent_at")

    @property
    def request_count(self) -> int:
        return self._call("request_count")

    def stop(self) -> None:
        if self._process is None:
            return
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(_encode(("stop", ())))
            self._process.stdin.close()
            self._process.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()
        finally:
            if self._process.stdout is not None:
                self._process.stdout.close()


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
