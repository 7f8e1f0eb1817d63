"""A fake Gemini OpenAI-compatible endpoint on a real loopback socket, scripted per test."""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "gemini-2.5-flash"


@dataclass
class Text:
    """A streamed text reply, one SSE chunk per element of `chunks`."""

    chunks: list[str]
    delay: float = 0.0  # seconds between chunks
    first_delay: float = 0.0  # seconds before the first chunk
    cut_after: int | None = None  # drop the connection after this many chunks, no [DONE]


# The ways Gemini streams parallel tool calls (whole arguments each time):
ONE_CHUNK = "one_chunk"  # all calls in one chunk, no `index` (Gemini 2.5)
SAME_INDEX = "same_index"  # all in one chunk, each `"index": 0`, distinct ids (Gemini 3)
PER_CHUNK = "per_chunk"  # one call per chunk, no `index`
SHAPES = (ONE_CHUNK, SAME_INDEX, PER_CHUNK)


@dataclass
class ToolCalls:
    """Tool calls as Gemini sends them: by default in ONE chunk, no `index`."""

    calls: list[tuple[str, dict[str, Any]]]
    # Newer Gemini models say "stop" even when they call tools.
    finish_reason: str = "tool_calls"
    shape: str = ONE_CHUNK


@dataclass
class Fail:
    """An error answer with Gemini's list-shaped body."""

    status: int
    message: str
    gemini_status: str
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    # A quota answer's google.rpc.RetryInfo, as Gemini sends it (e.g. "20s").
    retry_delay: str | None = None


@dataclass
class Hang:
    """Accept the request and say nothing for `seconds`."""

    seconds: float


@dataclass
class Raw:
    """Raw SSE lines as given (e.g. malformed JSON), each sent as its own chunk."""

    lines: list[bytes]
    done: bool = True  # end with `data: [DONE]`


Reply = Text | ToolCalls | Fail | Hang | Raw

# Gemini 3's answer to a request whose current turn echoes a call without its signature.
MISSING_SIGNATURE = Fail(
    400,
    "Function call is missing a thought_signature in functionCall parts. This is required "
    "for tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance. Additional data, function call `default_api:create_task` , position 2.",
    "INVALID_ARGUMENT",
)
# What the endpoint says to a reasoning effort 3 Flash does not take.
REJECTED_EFFORT = Fail(
    400, "Reasoning effort 'minimal' is not supported for this model.", "INVALID_ARGUMENT"
)

# Gemini's answer to a key it does not accept: 400, not 401, with reason API_KEY_INVALID.
REJECTED_KEY = Fail(
    400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT",
    reason="API_KEY_INVALID",
)  # fmt: skip


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float  # time.perf_counter() when the request arrived
    # The client's (host, port): requests with the same peer came over one connection.
    peer: tuple[str, int] = ("", 0)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])


class _Server(ThreadingHTTPServer):
    # The socketserver default listen backlog is 5: fifty turns asking at once (the load
    # test) overflowed it and lost requests as "cut off" streams that Google's front end
    # would have accepted.
    request_queue_size = 128


class FakeGemini:
    """Pops one scripted Reply per request (then `default`), and records every request."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        """`tls`: serve HTTPS with this server context (benchmarks of the connection)."""
        self.script: deque[Reply] = deque()
        self.default: Reply = Text(["OK"])
        # When set, picks the reply from the request instead of the script (for concurrency).
        self.route: Callable[[Recorded], Reply] | None = None
        # Chat completion requests (the turns), and model listings (Settings' key check,
        # the connection the app opens ahead of its first turn) apart from them.
        self.requests: list[Recorded] = []
        self.model_lists: list[Recorded] = []
        # perf_counter() when each tool-call chunk was written (benchmarks read this).
        self.tool_call_sent_at: list[float] = []
        # Close a connection that has been idle this many seconds (Google's front end
        # closes idle keep-alive connections too); None keeps it open.
        self.idle_timeout: float | None = None
        # Keys Gemini no longer accepts: any request carrying one is answered 400
        # API_KEY_INVALID (Gemini checks the key on every call), before any scripted reply.
        self.rejected_keys: set[str] = set()
        # Gemini 3: the first tool call of each answer carries a thought signature, and a
        # request whose current turn echoes a call without its signature is refused (400).
        self.thought_signatures = False
        # Signatures handed out, by call id.
        self.signatures: dict[str, str] = {}
        # Gemini cannot be reached: every connection is dropped before any answer (the key
        # check then says it could not ask; the network itself is fine).
        self.unreachable = False
        # Reasoning efforts refused with 400 (3 Flash refuses "minimal").
        self.rejected_efforts: set[str] = {"minimal"}
        self._ids = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._scheme = "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._server.server_address[1]}/v1beta/openai/"

    def start(self) -> FakeGemini:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def push(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def next_reply(self) -> Reply:
        return self.script.popleft() if self.script else self.default

    # -- wire format -------------------------------------------------------------------

    def chunk(self, delta: dict[str, Any], *, finish: str | None, usage: int) -> bytes:
        choice: dict[str, Any] = {"delta": delta, "index": 0}
        if finish:
            choice["finish_reason"] = finish
        body = {
            "choices": [choice],
            "created": int(time.time()),
            "id": "fake-" + str(next(self._ids)),
            "model": MODEL,
            "object": "chat.completion.chunk",
            # Cumulative, like Gemini: every chunk repeats the running totals.
            "usage": {"completion_tokens": usage, "prompt_tokens": 12, "total_tokens": 12 + usage},
        }
        return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"

    def refusal(self, body: dict[str, Any]) -> Fail | None:
        """The 400 Gemini 3 answers to this request body, if it refuses it."""
        if body.get("reasoning_effort") in self.rejected_efforts:
            return REJECTED_EFFORT
        if not self.thought_signatures:
            return None
        messages = body.get("messages") or []
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        # The current turn: everything after the last user message.
        for message in messages[(users[-1] + 1 if users else 0) :]:
            for call in (
                message.get("tool_calls") or () if message.get("role") == "assistant" else ()
            ):
                wanted = self.signatures.get(call.get("id"))
                google = (call.get("extra_content") or {}).get("google") or {}
                if wanted and google.get("thought_signature") != wanted:
                    return MISSING_SIGNATURE
        return None

    def tool_call_chunks(self, reply: ToolCalls) -> list[bytes]:
        """The SSE chunks of one answer's tool calls, in the reply's shape."""
        calls: list[dict[str, Any]] = []
        for name, args in reply.calls:
            call: dict[str, Any] = {
                "function": {"arguments": json.dumps(args), "name": name},
                "id": "function-call-" + str(random.randrange(10**18, 10**19)),
                "type": "function",
            }
            if reply.shape == SAME_INDEX:
                call["index"] = 0
            if self.thought_signatures and not calls:
                signature = "sig-" + base64.b64encode(os.urandom(24)).decode()
                call["extra_content"] = {"google": {"thought_signature": signature}}
                self.signatures[call["id"]] = signature
            calls.append(call)
        groups = [[c] for c in calls] if reply.shape == PER_CHUNK else [calls]
        return [
            self.chunk(
                {"role": "assistant", "tool_calls": group},
                finish=reply.finish_reason if i == len(groups) - 1 else None,
                usage=19,
            )
            for i, group in enumerate(groups)
        ]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Chunked HTTP/1.1 like Google's front end, so a cut-off stream is a protocol
            # error for the client rather than a clean end of body.
            protocol_version = "HTTP/1.1"
            # Each chunk goes out as written, as a streaming front end sends it. With Nagle
            # on, a chunk written while the headers were still unacknowledged waited for
            # the client's delayed ACK (40 ms) on a kept-alive connection.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                self.timeout = fake.idle_timeout  # applied to the socket by setup()
                super().setup()

            def _drop(self) -> bool:
                if not fake.unreachable:
                    return False
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return True

            def do_POST(self) -> None:
                if self._drop():
                    return
                arrived = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                recorded = Recorded(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    arrived,
                    self.client_address[:2],
                )
                fake.requests.append(recorded)
                if self._key_rejected():
                    return
                refusal = fake.refusal(body)
                if refusal is not None:
                    self._answer(refusal)
                    return
                reply = fake.route(recorded) if fake.route else fake.next_reply()
                try:
                    self._answer(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                if self._drop():
                    return
                # The model list (`GET .../models`), which Settings' key check asks for.
                fake.model_lists.append(
                    Recorded(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        {},
                        time.perf_counter(),
                        self.client_address[:2],
                    )
                )
                if self._key_rejected():
                    return
                if not self.path.rstrip("/").endswith("/models"):
                    self.send_error(404)
                    return
                model = {"id": f"models/{MODEL}", "object": "model", "owned_by": "google"}
                data = json.dumps({"object": "list", "data": [model]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _key_rejected(self) -> bool:
                bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if bearer not in fake.rejected_keys:
                    return False
                self._answer(REJECTED_KEY)
                return True

            def _answer(self, reply: Reply) -> None:
                if isinstance(reply, Fail):
                    payload = [
                        {
                            "error": {
                                "code": reply.status,
                                "message": reply.message,
                                "status": reply.gemini_status,
                            }
                        }
                    ]
                    details: list[dict[str, Any]] = []
                    if reply.reason:
                        details.append(
                            {
                                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": reply.reason,
                                "domain": "googleapis.com",
                            }
                        )
                    if reply.retry_delay:
                        details.append(
                            {
                                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                                "retryDelay": reply.retry_delay,
                            }
                        )
                    if details:
                        payload[0]["error"]["details"] = details
                    data = json.dumps(payload, indent=2).encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Connection", "close")
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if isinstance(reply, Hang):
                    time.sleep(reply.seconds)
                    self.close_connection = True
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                # Kept alive after the stream, as Google's front end does (HTTP/1.1's
                # default): the app's next turn may reuse the connection.
                self.end_headers()
                if isinstance(reply, Raw):
                    for line in reply.lines:
                        self._send(line)
                    if not reply.done:
                        self.wfile.write(b"0\r\n\r\n")
                        self.wfile.flush()
                        return
                elif isinstance(reply, ToolCalls):
                    for data in fake.tool_call_chunks(reply):
                        self._send(data)
                    fake.tool_call_sent_at.append(time.perf_counter())
                else:
                    if reply.first_delay:
                        time.sleep(reply.first_delay)
                    last = len(reply.chunks) - 1
                    for i, text in enumerate(reply.chunks):
                        if reply.cut_after is not None and i >= reply.cut_after:
                            self.close_connection = True
                            return  # no terminating chunk: the stream is cut off
                        if i and reply.delay:
                            time.sleep(reply.delay)
                        self._send(
                            fake.chunk(
                                {"content": text, "role": "assistant"},
                                finish="stop" if i == last else None,
                                usage=i + 1,
                            )
                        )
                self._send(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def _send(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        return Handler
