"""Abuse limits for the chat endpoint: a per-minute limit and a daily message cap.

Only ChatKit requests that make Gemini answer count (a new thread, a new message, a
retry, a client tool result, a custom action). The daily count is per user per UTC day
and lives in `<data dir>/usage.json`, so restarting TaskChat does not reset it.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response
from app.config import Settings
from app.fileio import write_private_json

log = logging.getLogger(__name__)

CHAT_PATH = "/api/chatkit"
USAGE_FILE = "usage.json"
# Daily cap: requests that add a person's message.
MESSAGE_TYPES = frozenset(
    {"threads.create", "threads.add_user_message", "threads.retry_after_item"}
)
# Per-minute limit: everything that makes the model run.
MODEL_TYPES = MESSAGE_TYPES | {
    "threads.add_client_tool_output",
    "threads.custom_action",
    "threads.sync_custom_action",
}


class LimitExceeded(Exception):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class UsageLimiter:
    """Per-user sliding one-minute window (in memory) and a durable daily counter."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path: Path = settings.data_dir / USAGE_FILE
        self._minute: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    # -------------------------------------------------------------- storage
    def _load(self, day: str) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("day") != day:
            return {}
        counts = data.get("counts")
        if not isinstance(counts, dict):
            return {}
        return {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}

    def _save(self, day: str, counts: dict[str, int]) -> None:
        self.settings.ensure_data_dir()
        write_private_json(self.path, {"day": day, "counts": counts})

    def used_today(self, user_id: str, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        with self._lock:
            return self._load(now.date().isoformat()).get(user_id, 0)

    # ------------------------------------------------------------- checking
    def check(self, user_id: str, request_type: str, now: datetime | None = None) -> None:
        """Count one request, or raise LimitExceeded without counting it."""
        now = now or datetime.now(UTC)
        mono = time.monotonic()
        per_minute = self.settings.chat_per_minute
        cap = self.settings.daily_message_cap
        with self._lock:
            window = self._minute[user_id]
            while window and window[0] <= mono - 60:
                window.popleft()
            if per_minute > 0 and len(window) >= per_minute:
                wait = max(1, math.ceil(window[0] + 60 - mono))
                raise LimitExceeded(
                    f"You're sending messages too quickly (limit: {per_minute} a minute). "
                    f"Please wait {wait} seconds and try again.",
                    wait,
                )
            counted = request_type in MESSAGE_TYPES
            day = now.date().isoformat()
            counts = self._load(day) if counted else {}
            if counted and cap > 0 and counts.get(user_id, 0) >= cap:
                midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
                wait = max(1, math.ceil((midnight.replace(tzinfo=UTC) - now).total_seconds()))
                hours, minutes = divmod(math.ceil(wait / 60), 60)
                raise LimitExceeded(
                    f"You've reached today's limit of {cap} messages. It resets at "
                    f"midnight UTC (in {hours} h {minutes} min); you can raise the "
                    "limit in Settings.",
                    wait,
                )
            window.append(mono)
            if counted:
                counts[user_id] = counts.get(user_id, 0) + 1
                self._save(day, counts)


class ChatLimits:
    """ASGI middleware on POST /api/chatkit (inside the session check)."""

    def __init__(self, app: ASGIApp, *, limiter: UsageLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or scope.get("path", "").rstrip("/") != CHAT_PATH
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        request_type = _request_type(body)
        user_id = (scope.get("state") or {}).get("user_id") or "local"
        if request_type in MODEL_TYPES:
            try:
                self.limiter.check(user_id, request_type)
            except LimitExceeded as exc:
                log.info("chat limit reached (%s)", request_type)
                await error_response(
                    429,
                    "rate_limited",
                    exc.message,
                    headers={"Retry-After": str(exc.retry_after)},
                )(scope, receive, send)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _request_type(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    value = data.get("type") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
