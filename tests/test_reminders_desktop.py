"""Reminders through a real notification stack: Xvfb, a session D-Bus, dunst, dbus-monitor.

The app runs in-process with its real scheduler; dbus-monitor records the Notify calls;
Done and Snooze are chosen in dunst's own action menu, which sends ActionInvoked back.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from tests.conftest import auth_headers
from tests.notify_stack import have_stack, notification_stack, screenshot

pytestmark = [
    pytest.mark.gui,
    pytest.mark.skipif(not have_stack(), reason="needs Xvfb, dbus-daemon and dunst (apt)"),
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def eventually(check, within: float = 15.0):
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


class Running:
    """The app with its lifespan (scheduler included) and a signed-in client."""

    def __init__(self, settings):
        self.app = create_app(settings)

    async def __aenter__(self):
        self._life = self.app.router.lifespan_context(self.app)
        await self._life.__aenter__()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://127.0.0.1",
            headers=auth_headers(self.app),
        )
        return self

    async def __aexit__(self, *exc):
        await self.client.aclose()
        await self._life.__aexit__(*exc)

    async def task(self, task_id: str) -> dict:
        return (await self.client.get(f"/api/tasks/{task_id}")).json()

    async def notices(self) -> list[dict]:
        return (await self.client.get("/api/reminders/notices")).json()["items"]

    async def recorded_notices(self) -> list[dict]:
        """The notices, once the scheduler has recorded one.

        dbus-monitor sees the Notify call before the daemon's reply reaches the app, and
        the app records the notice only after that reply says how it was delivered.
        """
        return await eventually(self.notices)


@pytest.fixture
def stack(tmp_path, monkeypatch):
    with notification_stack(tmp_path / "stack") as s:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", s.env["DBUS_SESSION_BUS_ADDRESS"])
        monkeypatch.setenv("DISPLAY", s.env["DISPLAY"])
        yield s


async def test_reminder_notifies_and_done_completes(settings, stack):
    async with Running(settings) as run:
        r = await run.client.post(
            "/api/tasks",
            json={
                "title": "Water the plants",
                "due": iso(timedelta(hours=2)),
                "remind_at": iso(timedelta(seconds=1)),
            },
        )
        task = r.json()
        [call] = await asyncio.to_thread(stack.wait_for_notify, 1)
        app_name, _icon, summary, body, *actions = call
        assert app_name == "TaskChat"
        assert summary == "Water the plants"
        assert body.startswith("Due ")
        assert ["done", "Done", "snooze", "Snooze 10 min"] == actions[2:6]
        notices = await run.recorded_notices()
        assert [(n["kind"], n["delivered"]) for n in notices] == [("reminder", "desktop")]
        await asyncio.sleep(0.5)  # dunst has drawn it
        if screenshot(stack.env, ARTIFACTS / "reminder-notification.png"):
            assert (ARTIFACTS / "reminder-notification.png").stat().st_size > 0
        await asyncio.to_thread(stack.press, "Done")

        async def done():
            return (await run.task(task["id"]))["completed"]

        await eventually(done)


async def test_done_on_a_repeating_task_moves_it(settings, stack):
    async with Running(settings) as run:
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        task = (
            await run.client.post(
                "/api/tasks",
                json={
                    "title": "Stretch",
                    "recurrence": "FREQ=DAILY",
                    "due": due.isoformat(),
                    "remind_before_minutes": 0,
                },
            )
        ).json()
        await asyncio.to_thread(stack.wait_for_notify, 1)
        await asyncio.to_thread(stack.press, "Done")

        async def moved():
            t = await run.task(task["id"])
            return t if t["last_completed_at"] else None

        after = await eventually(moved)
        assert after["completed"] is False
        assert datetime.fromisoformat(after["due"]) == due + timedelta(days=1)
        assert datetime.fromisoformat(after["remind_at"]) == due + timedelta(days=1)


async def test_snooze_shows_it_again_later(settings, stack):
    async with Running(settings) as run:
        task = (
            await run.client.post(
                "/api/tasks", json={"title": "Call mom", "remind_at": iso(timedelta(seconds=1))}
            )
        ).json()
        await asyncio.to_thread(stack.wait_for_notify, 1)
        pressed = datetime.now(UTC)
        await asyncio.to_thread(stack.press, "Snooze")

        async def snoozed():
            t = await run.task(task["id"])
            return t if datetime.fromisoformat(t["remind_at"]) > pressed else None

        after = await eventually(snoozed)
        remind = datetime.fromisoformat(after["remind_at"])
        assert (
            timedelta(minutes=9, seconds=50) < remind - pressed < timedelta(minutes=10, seconds=30)
        )
        assert after["completed"] is False
        # Pending again: moving it to now shows it a second time.
        await run.client.patch(f"/api/tasks/{task['id']}", json={"remind_at": iso(timedelta(0))})
        calls = await asyncio.to_thread(stack.wait_for_notify, 2)
        assert calls[1][2] == "Call mom"


async def test_catch_up_after_restart_is_shown_once(settings, stack):
    settings.reminders = False  # TaskChat "closed": nothing runs the reminders
    async with Running(settings) as run:
        for title in ("Pay rent", "Renew passport"):
            await run.client.post(
                "/api/tasks", json={"title": title, "remind_at": iso(timedelta(seconds=-30))}
            )
        await run.client.post(
            "/api/tasks", json={"title": "Later", "remind_at": iso(timedelta(hours=3))}
        )
    settings.reminders = True
    async with Running(settings) as run:
        [call] = await asyncio.to_thread(stack.wait_for_notify, 1)
        assert call[2] == "2 reminders while TaskChat was closed"
        assert "Pay rent" in call[3] and "Renew passport" in call[3]
        await asyncio.sleep(0.5)
        if screenshot(stack.env, ARTIFACTS / "reminder-catch-up.png"):
            assert (ARTIFACTS / "reminder-catch-up.png").stat().st_size > 0
        notices = await run.recorded_notices()
        assert [n["kind"] for n in notices] == ["catch_up"]
        assert len(notices[0]["task_ids"]) == 2
    async with Running(settings) as run:
        await asyncio.sleep(1.0)
        assert len(stack.notify_calls()) == 1  # not shown again
        assert await run.notices() == []


@pytest.mark.parametrize("bus", ["no bus", "bus without daemon"])
async def test_no_notification_service_falls_back_to_a_toast(
    settings, tmp_path, monkeypatch, caplog, bus
):
    caplog.set_level(logging.WARNING)
    if bus == "no bus":
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-bus")
        ctx = None
    else:
        ctx = notification_stack(tmp_path / "stack", daemon=False)
        s = ctx.__enter__()
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", s.env["DBUS_SESSION_BUS_ADDRESS"])
    try:
        async with Running(settings) as run:
            task = (
                await run.client.post(
                    "/api/tasks", json={"title": "Feed the cat", "remind_at": iso(timedelta(0))}
                )
            ).json()

            [notice] = await run.recorded_notices()
            assert notice["delivered"] == "toast"
            assert notice["title"] == "Feed the cat" and notice["task_ids"] == [task["id"]]
            assert (await run.client.get("/api/health")).status_code == 200
            later = (await run.client.get("/api/reminders/notices", params={"after": 1})).json()
            assert later["items"] == [] and later["last"] == 1
        assert any("no notification service" in r.getMessage() for r in caplog.records)
    finally:
        if ctx is not None:
            ctx.__exit__(None, None, None)


async def test_pause_holds_reminders(settings, stack):
    async with Running(settings) as run:
        r = await run.client.post("/api/reminders/pause", json={"minutes": 60})
        assert r.json()["paused_until"] is not None
        await run.client.post("/api/tasks", json={"title": "Held", "remind_at": iso(timedelta(0))})
        await asyncio.sleep(1.5)
        assert stack.notify_calls() == []
        await run.client.post("/api/reminders/pause", json={"minutes": 0})
        [call] = await asyncio.to_thread(stack.wait_for_notify, 1)
        assert call[2] == "Held"
