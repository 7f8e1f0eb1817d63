"""Chat tools set, change and clear recurrence and reminders (fake Gemini, real wire format)."""

from __future__ import annotations

import json

from app.chat.tools import SPECS
from tests.fakes.chatkit import create_thread, of_type, stream
from tests.fakes.gemini import Text, ToolCalls


def _tool_outputs(request) -> list[dict]:
    return [json.loads(m["content"]) for m in request.messages if m["role"] == "tool"]


async def _only_task(c) -> dict:
    [task] = (await c.get("/api/tasks")).json()["items"]
    return task


def test_task_tools_offer_recurrence_and_reminders():
    by_name = {s.name: s.schema["properties"] for s in SPECS}
    for name in ("create_task", "update_task"):
        assert {"recurrence", "remind_at", "remind_before_minutes"} <= set(by_name[name])
    assert {"remind_before", "remind_after", "recurring"} <= set(by_name["list_tasks"])


async def test_set_change_and_clear_by_chat(chat, gemini):
    gemini.push(
        ToolCalls(
            [
                (
                    "create_task",
                    {
                        "title": "Call mom",
                        "due": "2099-06-05T17:00:00+02:00",
                        "remind_at": "2099-06-05T17:00:00+02:00",
                    },
                )
            ]
        ),
        Text(["I'll remind you."]),
    )
    async with chat.client() as c:
        await stream(c, create_thread("remind me to call mom tomorrow at 5pm"))
        task = await _only_task(c)
    assert task["remind_at"] == "2099-06-05T15:00:00Z"
    assert task["recurrence"] is None

    gemini.push(
        ToolCalls(
            [("update_task", {"task_id": task["id"], "recurrence": "FREQ=MONTHLY;BYMONTHDAY=1"})]
        ),
        Text(["It repeats on the 1st now."]),
    )
    async with chat.client() as c:
        await stream(c, create_thread("make it repeat on the 1st of every month"))
        changed = await _only_task(c)
    assert changed["recurrence"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    output = _tool_outputs(gemini.requests[-1])[0]
    assert output["updated"]["repeats"] == "every month on the 1st"

    gemini.push(
        ToolCalls([("update_task", {"task_id": task["id"], "remind_at": "", "recurrence": ""})]),
        Text(["Done, no more reminders."]),
    )
    async with chat.client() as c:
        await stream(c, create_thread("stop reminding me about it and stop repeating"))
        cleared = await _only_task(c)
    assert cleared["remind_at"] is None and cleared["recurrence"] is None


async def test_relative_reminder_and_window_listing(chat, gemini):
    gemini.push(
        ToolCalls(
            [
                (
                    "create_task",
                    {
                        "title": "Dentist",
                        "due": "2099-03-02T10:00:00Z",
                        "remind_before_minutes": 30,
                    },
                ),
                ("create_task", {"title": "Later", "remind_at": "2099-09-01T08:00:00Z"}),
            ]
        ),
        ToolCalls([("list_tasks", {"remind_before": "2099-04-01T00:00:00Z"})]),
        Text(["One reminder before April."]),
    )
    async with chat.client() as c:
        await stream(c, create_thread("dentist March 2 at 10, remind me 30 min before"))
    listed = _tool_outputs(gemini.requests[-1])[-1]
    assert [t["title"] for t in listed["tasks"]] == ["Dentist"]
    assert listed["tasks"][0]["remind_at"] == "2099-03-02T09:30:00Z"


async def test_invalid_rule_is_a_readable_tool_error(chat, gemini):
    gemini.push(
        ToolCalls([("create_task", {"title": "Rent", "recurrence": "every first monday"})]),
        Text(["Sorry, that rule did not work."]),
    )
    async with chat.client() as c:
        events = await stream(c, create_thread("pay rent every first monday"))
        assert (await c.get("/api/tasks")).json()["total"] == 0
    [output] = _tool_outputs(gemini.requests[1])
    assert output["error"].startswith("recurrence:")
    assert "RRULE" in output["error"]
    assert of_type(events, "error") == []


async def test_completing_a_repeating_task_by_chat_keeps_it_open(chat, gemini):
    async with chat.client() as c:
        r = await c.post(
            "/api/tasks",
            json={"title": "Water plants", "recurrence": "FREQ=WEEKLY", "due": "2099-01-04"},
        )
        task_id = r.json()["id"]
    gemini.push(ToolCalls([("complete_task", {"task_id": task_id})]), Text(["Done for this week."]))
    async with chat.client() as c:
        await stream(c, create_thread("watered the plants"))
        task = await _only_task(c)
    assert task["completed"] is False and task["due"] == "2099-01-11"
    assert task["last_completed_at"] is not None
