"""Abuse limits on /api/chatkit: per-minute limit and the durable daily message cap."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI, Request

from app.api.errors import install_error_handlers
from app.config import Settings
from app.main import create_app
from app.security.limits import ChatLimits, LimitExceeded, UsageLimiter


def limited_app(settings: Settings) -> tuple[FastAPI, list[dict]]:
    """A stand-in chat endpoint behind the real ChatLimits middleware."""
    seen: list[dict] = []
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/api/chatkit")
    async def chatkit(request: Request) -> dict:
        seen.append(await request.json())  # the body reaches the endpoint intact
        return {"ok": True}

    app.add_middleware(ChatLimits, limiter=UsageLimiter(settings))
    return app, seen


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


def message(kind: str = "threads.add_user_message") -> dict:
    return {"type": kind, "params": {"thread_id": "t", "input": {"content": []}}}


async def test_per_minute_limit_answers_429_with_retry_after(settings):
    settings.chat_per_minute = 3
    app, seen = limited_app(settings)
    async with client_for(app) as c:
        for _ in range(3):
            assert (await c.post("/api/chatkit", json=message())).status_code == 200
        r = await c.post("/api/chatkit", json=message("threads.create"))
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60
    error = r.json()["error"]
    assert error["code"] == "rate_limited"
    assert "too quickly" in error["message"]
    assert len(seen) == 3
    assert seen[0] == message()


async def test_reads_are_not_limited(settings):
    settings.chat_per_minute = 1
    settings.daily_message_cap = 1
    app, _ = limited_app(settings)
    async with client_for(app) as c:
        for _ in range(5):
            r = await c.post("/api/chatkit", json={"type": "threads.list", "params": {}})
            assert r.status_code == 200
        assert (await c.post("/api/chatkit", json=message())).status_code == 200
        assert (await c.post("/api/chatkit", json=message())).status_code == 429
        r = await c.post("/api/chatkit", json={"type": "items.list", "params": {}})
        assert r.status_code == 200


async def test_daily_cap_answers_429_until_midnight_utc(settings):
    settings.daily_message_cap = 2
    app, _ = limited_app(settings)
    async with client_for(app) as c:
        assert (await c.post("/api/chatkit", json=message("threads.create"))).status_code == 200
        assert (await c.post("/api/chatkit", json=message())).status_code == 200
        r = await c.post("/api/chatkit", json=message("threads.retry_after_item"))
    assert r.status_code == 429
    assert "today's limit of 2 messages" in r.json()["error"]["message"]
    assert 0 < int(r.headers["retry-after"]) <= 24 * 3600


def test_daily_cap_is_per_user_and_per_utc_day(settings):
    settings.daily_message_cap = 1
    settings.chat_per_minute = 0
    limiter = UsageLimiter(settings)
    day1 = datetime(2026, 11, 24, 23, 59, tzinfo=UTC)
    limiter.check("alice", "threads.create", now=day1)
    with pytest.raises(LimitExceeded) as exc:
        limiter.check("alice", "threads.add_user_message", now=day1)
    assert exc.value.retry_after == 60
    limiter.check("bob", "threads.create", now=day1)  # another user has their own count
    limiter.check("alice", "threads.create", now=datetime(2026, 11, 25, 0, 1, tzinfo=UTC))


def test_daily_count_survives_restart(settings):
    settings.daily_message_cap = 2
    settings.chat_per_minute = 0
    UsageLimiter(settings).check("u", "threads.create")
    UsageLimiter(settings).check("u", "threads.add_user_message")
    with pytest.raises(LimitExceeded):
        UsageLimiter(settings).check("u", "threads.add_user_message")
    path = settings.data_dir / "usage.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["counts"] == {"u": 2}


def test_daily_count_includes_messages_counted_by_another_process(settings):
    """A `serve` beside the window counts into the same file; neither overwrites the other."""
    settings.daily_message_cap = 3
    settings.chat_per_minute = 0
    window, serve = UsageLimiter(settings), UsageLimiter(settings)
    window.check("u", "threads.create")
    serve.check("u", "threads.add_user_message")
    window.check("u", "threads.add_user_message")
    with pytest.raises(LimitExceeded):
        serve.check("u", "threads.add_user_message")
    assert json.loads((settings.data_dir / "usage.json").read_text())["counts"] == {"u": 3}


async def test_real_app_enforces_the_daily_cap_per_session_user(settings):
    """The limiter is wired into the app, inside the session check, keyed by the token's user."""
    settings.daily_message_cap = 5
    settings.ensure_data_dir()
    today = datetime.now(UTC).date().isoformat()
    (settings.data_dir / "usage.json").write_text(
        json.dumps({"day": today, "counts": {"capped-user": 5}})
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as c:
        token = app.state.mint_session_token("capped-user")
        r = await c.post(
            "/api/chatkit",
            json=message("threads.create"),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "rate_limited"
        assert "retry-after" in r.headers
        # Without a session the request never reaches the limiter (or the chat).
        r = await c.post("/api/chatkit", json=message("threads.create"))
        assert r.status_code == 401


async def test_body_limit_still_applies_to_chat(settings):
    settings.max_body_bytes = 1000
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as c:
        token = app.state.mint_session_token()
        r = await c.post(
            "/api/chatkit",
            content=b'{"type": "threads.create", "pad": "' + b"x" * 5000 + b'"}',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    assert r.status_code == 413
