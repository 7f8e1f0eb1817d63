"""Gemini's wire quirks, fixed in the HTTP transport TaskChat gives its AsyncOpenAI client.

Three things Gemini's OpenAI-compatible endpoint does that openai-agents does not expect,
fixed here, below the SDKs, where no SDK upgrade can switch the fix off:

- Parallel tool calls are told apart by `id`, whatever their `index` says. Gemini sends
  them without `index` (several in one chunk, or one per chunk), and Gemini 3 also sends
  several in one chunk all with `index: 0`. openai-agents groups deltas by index, so
  either way two calls became one with arguments `{..}{..}` that creates nothing. Each
  new id gets the next index of its response; a delta without id continues the call it
  belongs to (the latest one with the same index, or the latest one).
- Thought signatures (`extra_content.google.thought_signature`, on the first call of each
  step) are remembered by call id as they stream in, and put back on every echo of that
  call in later requests that lacks one. Gemini 3 answers 400 "Function call is missing
  a thought_signature" to a request whose current turn echoes a call without it, and
  openai-agents echoes signatures only when the model's name contains "gemini" (a tuned
  model or an alias would lose them). Calls of earlier turns, replayed from the store,
  carry the signature kept with them (SignatureBook.remember).
- `reasoning_effort` values a model rejects are changed to the nearest accepted one
  ("minimal" is refused by Gemini 3 Flash).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx2

# Call ids are random per call; this bounds the memory of a long-running server.
SIGNATURES_KEPT = 4096
COMPLETIONS_PATH = "/chat/completions"
# Values Gemini's endpoint refuses for a model family, and what to send instead.
_EFFORT_REPLACEMENTS: dict[str, str] = {"minimal": "low"}


class SignatureBook:
    """Thought signatures by tool call id: seen in answers, or kept with stored calls."""

    def __init__(self, size: int = SIGNATURES_KEPT) -> None:
        self._size = size
        self._by_call: OrderedDict[str, str] = OrderedDict()

    def remember(self, call_id: str, signature: str) -> None:
        self._by_call[call_id] = signature
        self._by_call.move_to_end(call_id)
        while len(self._by_call) > self._size:
            self._by_call.popitem(last=False)

    def get(self, call_id: str) -> str | None:
        return self._by_call.get(call_id)


def signature_of(call: dict[str, Any]) -> str | None:
    """The thought signature a tool call (delta or echo) carries, if any."""
    extra = call.get("extra_content")
    google = extra.get("google") if isinstance(extra, dict) else None
    signature = google.get("thought_signature") if isinstance(google, dict) else None
    return signature if isinstance(signature, str) and signature else None


class ToolCallIds:
    """Re-indexes one response's tool-call deltas by call id (see the module docstring)."""

    def __init__(self, book: SignatureBook) -> None:
        self._book = book
        self._by_id: dict[str, int] = {}
        self._by_given_index: dict[int, int] = {}
        self._latest: int | None = None

    def fix(self, chunk: dict[str, Any]) -> None:
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            calls = delta.get("tool_calls") if isinstance(delta, dict) else None
            for call in calls if isinstance(calls, list) else ():
                if isinstance(call, dict):
                    self._fix_call(call)

    def _fix_call(self, call: dict[str, Any]) -> None:
        given = call.get("index")
        call_id = call.get("id")
        if isinstance(call_id, str) and call_id:
            index = self._by_id.setdefault(call_id, len(self._by_id))
            signature = signature_of(call)
            if signature:
                self._book.remember(call_id, signature)
        elif isinstance(given, int) and given in self._by_given_index:
            index = self._by_given_index[given]
        else:
            index = self._latest if self._latest is not None else 0
        if isinstance(given, int):
            self._by_given_index[given] = index
        call["index"] = index
        self._latest = index


class _FixedEvents(httpx2.AsyncByteStream):
    """An SSE body whose tool-call chunks pass through ToolCallIds; the rest as sent."""

    def __init__(self, raw: httpx2.AsyncByteStream, book: SignatureBook) -> None:
        self._raw = raw
        self._ids = ToolCallIds(book)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pending = b""
        async for data in self._raw:
            pending += data
            # Whole events only (a chunk of the body may end mid-event); the rest waits.
            end = max(pending.rfind(b"\n\n") + 2, pending.rfind(b"\r\n\r\n") + 4)
            if end < 4:
                continue
            events, pending = pending[:end], pending[end:]
            yield self._fix(events) if b'"tool_calls"' in events else events
        if pending:
            yield self._fix(pending) if b'"tool_calls"' in pending else pending

    def _fix(self, events: bytes) -> bytes:
        lines = events.split(b"\n")
        for i, line in enumerate(lines):
            if not line.startswith(b"data:") or b'"tool_calls"' not in line:
                continue
            try:
                chunk = json.loads(line[5:])
            except ValueError:
                continue  # the SDK reports a malformed chunk itself
            if isinstance(chunk, dict):
                self._ids.fix(chunk)
                fixed = b"data: " + json.dumps(chunk, ensure_ascii=False).encode()
                lines[i] = fixed + b"\r" if line.endswith(b"\r") else fixed
        return b"\n".join(lines)

    async def aclose(self) -> None:
        await self._raw.aclose()


def _fix_request_body(body: dict[str, Any], book: SignatureBook) -> bool:
    """Put known signatures back on echoed tool calls; replace refused reasoning efforts.
    True if the body changed."""
    changed = False
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and effort in _EFFORT_REPLACEMENTS:
        body["reasoning_effort"] = _EFFORT_REPLACEMENTS[effort]
        changed = True
    for message in body.get("messages") or ():
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        for call in message.get("tool_calls") or ():
            if not isinstance(call, dict) or signature_of(call):
                continue
            signature = book.get(str(call.get("id")))
            if signature:
                extra = call.setdefault("extra_content", {})
                if isinstance(extra, dict):
                    extra.setdefault("google", {})["thought_signature"] = signature
                    changed = True
    return changed


class GeminiTransport(httpx2.AsyncBaseTransport):
    """Wraps the transport that talks to Gemini; fixes chat-completion requests and
    streamed answers (see the module docstring), passes everything else through."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, book: SignatureBook) -> None:
        self._inner = inner
        self.book = book

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "POST" or not request.url.path.endswith(COMPLETIONS_PATH):
            return await self._inner.handle_async_request(request)
        request = self._fixed_request(request)
        response = await self._inner.handle_async_request(request)
        if response.status_code == 429:
            # The openai client would wait out a quota's Retry-After silently (the person
            # sees "Thinking…" for the whole wait, then an error): the chat shows the wait
            # as a countdown and retries itself instead. The header is openai's own switch.
            response.headers["x-should-retry"] = "false"
            return response
        if "text/event-stream" not in response.headers.get("content-type", ""):
            return response
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=_FixedEvents(response.stream, self.book),
            extensions=response.extensions,
            request=request,
        )

    def _fixed_request(self, request: httpx2.Request) -> httpx2.Request:
        try:
            body = json.loads(request.content)
        except (ValueError, httpx2.RequestNotRead):
            return request
        # Streamed answers are read as they come: asked uncompressed, so the events can be
        # read here (the client decodes compressed bodies only above the transport).
        headers = httpx2.Headers(request.headers)
        headers["accept-encoding"] = "identity"
        content = request.content
        if isinstance(body, dict) and _fix_request_body(body, self.book):
            content = json.dumps(body).encode()
            headers["content-length"] = str(len(content))
        return httpx2.Request(
            request.method,
            request.url,
            headers=headers,
            content=content,
            extensions=request.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def remember_signatures(book: SignatureBook, calls: Iterable[dict[str, Any]]) -> None:
    """Stored tool calls ({call_id, thought_signature?}) into the book before a turn."""
    for call in calls:
        signature = call.get("thought_signature")
        if isinstance(signature, str) and signature and isinstance(call.get("call_id"), str):
            book.remember(call["call_id"], signature)
