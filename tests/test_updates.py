"""The update notice (app/updates.py) against a fake release feed on a real socket:
newer, same, older, malformed, slow, offline and turned off; at most once a day; the route
needs the session; the check never delays the start."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from app import __version__, updates
from app.config import get_settings
from app.main import create_app
from tests.conftest import auth_headers
from tests.fakes.release_feed import FakeReleaseFeed, github_release
from tests.pg import free_port


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeReleaseFeed]:
    fake = FakeReleaseFeed().start()
    monkeypatch.setenv("TASKCHAT_UPDATE_URL", fake.url)
    monkeypatch.setenv("TASKCHAT_UPDATE_CHECK", "1")
    yield fake
    fake.stop()


@pytest.fixture
def checker(data_dir) -> updates.UpdateChecker:
    return updates.UpdateChecker(get_settings())


async def check(checker: updates.UpdateChecker) -> updates.Release | None:
    await checker.check_if_due()
    return checker.notice()


async def test_newer_release_is_announced(feed: FakeReleaseFeed, checker) -> None:
    feed.body = github_release("v99.1.0")
    release = await check(checker)
    assert release is not None
    assert release.version == "99.1.0"
    assert release.url == "https://github.com/taskchat/taskchat/releases/tag/v99.1.0"
    assert "Faster start" in release.notes
    assert feed.requests[0]["user-agent"].startswith(f"TaskChat/{__version__}")
    # Kept private, like every file in the data folder.
    path = checker.settings.data_dir / updates.STATE_FILE_NAME
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("tag", [f"v{__version__}", __version__, "v0.0.1", "0.0.1rc1"])
async def test_same_or_older_release_is_silent(feed: FakeReleaseFeed, checker, tag: str) -> None:
    feed.body = github_release(tag)
    assert await check(checker) is None
    assert len(feed.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<html>rate limited</html>",
        b"[]",
        {"message": "Not Found"},
        github_release("banana"),
        github_release("v99.0.0", html_url="javascript:alert(1)"),
        github_release("v99.0.0", draft=True),
        github_release("v99.0.0", prerelease=True),
    ],
    ids=["html", "list", "no-tag", "bad-version", "bad-link", "draft", "prerelease"],
)
async def test_malformed_answer_is_silent_with_a_log_line(
    feed: FakeReleaseFeed, checker, body, caplog: pytest.LogCaptureFixture
) -> None:
    feed.body = body
    with caplog.at_level(logging.INFO, logger="app.updates"):
        assert await check(checker) is None
    assert "no answer from the release feed" in caplog.text


async def test_error_status_is_silent(feed: FakeReleaseFeed, checker, caplog) -> None:
    feed.status = 500
    with caplog.at_level(logging.INFO, logger="app.updates"):
        assert await check(checker) is None
    assert "HTTP 500" in caplog.text


async def test_slow_feed_is_cut_off(
    feed: FakeReleaseFeed, checker, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.setattr(updates, "FEED_TIMEOUT_S", 0.3)
    feed.body = github_release("v99.0.0")
    feed.delay = 3.0
    t0 = time.monotonic()
    with caplog.at_level(logging.INFO, logger="app.updates"):
        assert await check(checker) is None
    assert time.monotonic() - t0 < 2.0
    assert "no answer within 0.3 s" in caplog.text


async def test_offline_is_silent(monkeypatch: pytest.MonkeyPatch, checker, caplog) -> None:
    monkeypatch.setenv("TASKCHAT_UPDATE_URL", f"http://127.0.0.1:{free_port()}/latest")
    monkeypatch.setenv("TASKCHAT_UPDATE_CHECK", "1")
    with caplog.at_level(logging.INFO, logger="app.updates"):
        assert await check(checker) is None
    assert "no answer from the release feed (ConnectError" in caplog.text


@pytest.mark.parametrize("value", ["0", "false", "off", "no"])
async def test_turned_off_by_env_never_asks(
    feed: FakeReleaseFeed, checker, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    feed.body = github_release("v99.0.0")
    monkeypatch.setenv("TASKCHAT_UPDATE_CHECK", value)
    assert await check(checker) is None
    checker.start()  # does not even schedule the task
    await checker.stop()
    assert feed.requests == []


async def test_turned_off_by_the_person_never_asks_and_hides_a_known_update(
    feed: FakeReleaseFeed, checker
) -> None:
    feed.body = github_release("v99.0.0")
    assert await check(checker) is not None
    updates.write_state(checker.settings, enabled=False, checked_at="2000-01-01T00:00:00+00:00")
    assert await check(checker) is None
    assert len(feed.requests) == 1


async def test_at_most_once_a_day(feed: FakeReleaseFeed, checker) -> None:
    feed.body = github_release("v99.0.0")
    await check(checker)
    await check(checker)
    assert len(feed.requests) == 1
    # An offline attempt counts as the day's check too: no hammering a dead feed.
    yesterday = datetime.now(UTC) - timedelta(days=1, minutes=1)
    updates.write_state(checker.settings, checked_at=yesterday.isoformat())
    await check(checker)
    assert len(feed.requests) == 2
    # A stamp without a time zone (edited by hand) does not break the check.
    updates.write_state(checker.settings, checked_at="2026-12-04T10:00:00")
    await check(checker)
    assert len(feed.requests) == 3
    # A clock that jumped back (checked "in the future") does not block checks forever.
    tomorrow = datetime.now(UTC) + timedelta(days=2)
    updates.write_state(checker.settings, checked_at=tomorrow.isoformat())
    await check(checker)
    assert len(feed.requests) == 4


async def signed_in(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://127.0.0.1",
        headers=auth_headers(app),
    )


async def test_route_needs_the_session_and_reports_the_update(
    feed: FakeReleaseFeed, monkeypatch: pytest.MonkeyPatch, data_dir
) -> None:
    feed.body = github_release("v99.2.0")
    monkeypatch.setenv("TASKCHAT_UPDATE_DELAY", "0")
    app = create_app(get_settings())
    async with app.router.lifespan_context(app):
        anonymous = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        )
        async with anonymous:
            denied = await anonymous.get("/api/updates")
        assert denied.status_code == 401
        assert denied.json()["error"]["code"]
        async with await signed_in(app) as client:
            for _ in range(100):  # the background check runs right after the start
                body = (await client.get("/api/updates")).json()
                if body["update"]:
                    break
                await asyncio.sleep(0.05)
            assert body["update"]["version"] == "99.2.0"
            assert body["current_version"] == __version__
            assert body["enabled"] is True and body["can_enable"] is True
            off = await client.put("/api/updates", json={"enabled": False})
            assert off.status_code == 200
            assert off.json()["enabled"] is False and off.json()["update"] is None
            bad = await client.put("/api/updates", json={"enabled": "maybe", "x": 1})
            assert bad.status_code in (400, 422)
            assert "error" in bad.json()
    state = json.loads((data_dir / updates.STATE_FILE_NAME).read_text())
    assert state["enabled"] is False


async def test_slow_feed_never_delays_the_start(
    feed: FakeReleaseFeed, monkeypatch: pytest.MonkeyPatch, data_dir
) -> None:
    feed.delay = 5.0
    monkeypatch.setenv("TASKCHAT_UPDATE_DELAY", "0")
    app = create_app(get_settings())
    t0 = time.monotonic()
    async with app.router.lifespan_context(app):
        started = time.monotonic() - t0
        async with await signed_in(app) as client:
            assert (await client.get("/api/health")).status_code == 200
            body = (await client.get("/api/updates")).json()
            assert body["update"] is None
        t1 = time.monotonic()
    # The start did not wait for the feed, and the shutdown cancelled the pending check.
    assert started < 4.0
    assert time.monotonic() - t1 < 2.0
    assert len(feed.requests) == 1
