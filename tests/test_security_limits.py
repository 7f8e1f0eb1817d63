"""Abuse limits on /api/chatkit: per-minute limit and the durable daily message cap.

The limits are a dependency of the real chat route, checked after the one parse of the
body; the daily count lives in the database (`chat_usage`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import insert, select

from app.config import Settings
from app.db.engine import create_engine, create_sessionmaker
from app.errors import RateLimited
from app.main import create_app
from app.security.limits import USAGE, UsageLimiter
from tests.conftest import auth_headers


def client_for(app, user_id: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://127.0.0.1",
        headers=auth_headers(app, user_id),
    )


def message(kind: str = "threads.add_user_message") -> dict:
    content = {"content": [{"type": "input_text", "text": "hi"}], "attachments": [],
               "inference_options": {}}  # fmt: skip
    params: dict = {"input": content}
    if kind != "threads.create":
        params["thread_id"] = "thr_missing"
    if kind == "threads.retry_after_item":
        params = {"thread_id": "thr_missing", "item_id": "msg_missing"}
    return {"type": kind, "params": params}


@pytest.fixture
async def limited(settings: Settings):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_per_minute_limit_answers_429_with_retry_after(limited, settings):
    settings.chat_per_minute = 3
    async with client_for(limited) as c:
        for _ in range(3):
            # Past the limits: the (missing) thread is the chat's own 404.
            assert (await c.post("/api/chatkit", json=message())).status_code == 404
        r = await c.post("/api/chatkit", json=message("threads.create"))
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60
    error = r.json()["error"]
    assert error["code"] == "rate_limited"
    assert "too quickly" in error["message"]


async def test_reads_and_bad_bodies_are_not_counted(limited, settings):
    settings.chat_per_minute = 1
    settings.daily_message_cap = 1
    async with client_for(limited) as c:
        for _ in range(5):
            r = await c.post("/api/chatkit", json={"type": "threads.list", "params": {}})
            assert r.status_code == 200
            # A body that does not parse is refused before the limits count it.
            r = await c.post("/api/chatkit", json={"type": "threads.create"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
        assert (await c.post("/api/chatkit", json=message())).status_code == 404
        assert (await c.post("/api/chatkit", json=message())).status_code == 429
        r = await c.post("/api/chatkit", json={"type": "threads.list", "params": {}})
        assert r.status_code == 200


async def test_daily_cap_answers_429_until_midnight_utc(limited, settings):
    settings.daily_message_cap = 2
    settings.chat_per_minute = 0
    async with client_for(limited) as c:
        assert (await c.post("/api/chatkit", json=message())).status_code == 404
        assert (await c.post("/api/chatkit", json=message())).status_code == 404
        r = await c.post("/api/chatkit", json=message("threads.retry_after_item"))
    assert r.status_code == 429
    assert "today's limit of 2 messages" in r.json()["error"]["message"]
    assert 0 < int(r.headers["retry-after"]) <= 24 * 3600


async def _sessions(settings: Settings):
    from app.db import migrate

    engine = create_engine(settings)
    await migrate.upgrade(engine)
    return engine, create_sessionmaker(engine)


async def test_daily_cap_is_per_user_and_per_utc_day(settings):
    settings.daily_message_cap = 1
    settings.chat_per_minute = 0
    engine, sessions = await _sessions(settings)
    limiter = UsageLimiter(settings)
    day1 = datetime(2026, 11, 24, 23, 59, tzinfo=UTC)

    async def check(user: str, kind: str, now: datetime) -> None:
        await limiter.check(sessionmaker=sessions, user_id=user, request_type=kind, now=now)

    await check("alice", "threads.create", day1)
    with pytest.raises(RateLimited) as exc:
        await check("alice", "threads.add_user_message", day1)
    assert exc.value.retry_after == 60
    await check("bob", "threads.create", day1)  # another user has their own count
    await check("alice", "threads.create", datetime(2026, 11, 25, 0, 1, tzinfo=UTC))
    await engine.dispose()


async def test_daily_count_is_in_the_database_and_survives_restart(settings):
    settings.daily_message_cap = 2
    settings.chat_per_minute = 0
    engine, sessions = await _sessions(settings)
    for _ in range(2):
        await UsageLimiter(settings).check(
            sessionmaker=sessions, user_id="u", request_type="threads.create"
        )
    # A new limiter (a restart, or a `serve` beside the window) sees the same count.
    with pytest.raises(RateLimited):
        await UsageLimiter(settings).check(
            sessionmaker=sessions, user_id="u", request_type="threads.add_user_message"
        )
    async with sessions() as s:
        rows = (await s.execute(select(USAGE.c.user_id, USAGE.c.messages))).all()
    assert [tuple(r) for r in rows] == [("u", 2)]
    assert not (settings.data_dir / "usage.json").exists()
    await engine.dispose()


@pytest.mark.parametrize("storage", ["sqlite", "postgres"], indirect=True)
async def test_parallel_messages_never_pass_the_daily_cap(settings, storage):
    """The check-and-count is one statement: 30 requests at once, cap 7, exactly 7 pass."""
    settings.daily_message_cap = 7
    settings.chat_per_minute = 0
    engine, sessions = await _sessions(settings)
    limiter = UsageLimiter(settings)

    async def one() -> bool:
        try:
            await limiter.check(sessionmaker=sessions, user_id="u", request_type="threads.create")
        except RateLimited:
            return False
        return True

    results = await asyncio.gather(*(one() for _ in range(30)))
    assert sum(results) == 7
    await engine.dispose()


async def test_real_app_enforces_the_daily_cap_per_session_user(settings):
    """The limiter is wired into the chat route, after the session check, keyed by the
    token's user."""
    settings.daily_message_cap = 5
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        today = datetime.now(UTC).date().isoformat()
        async with app.state.sessionmaker() as s:
            await s.execute(insert(USAGE).values(user_id="capped-user", day=today, messages=5))
            await s.commit()
        async with client_for(app, "capped-user") as c:
            r = await c.post("/api/chatkit", json=message("threads.create"))
            assert r.status_code == 429
            assert r.json()["error"]["code"] == "rate_limited"
            assert "retry-after" in r.headers
        # Without a session the request never reaches the limiter (or the chat).
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as anonymous:
            r = await anonymous.post("/api/chatkit", json=message("threads.create"))
            assert r.status_code == 401


async def test_body_limit_still_applies_to_chat(settings):
    settings.max_body_bytes = 1000
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as c:
        r = await c.post(
            "/api/chatkit",
            content=b'{"type": "threads.create", "pad": "' + b"x" * 5000 + b'"}',
            headers={"Content-Type": "application/json"},
        )
    assert r.status_code == 413
