"""List tools through whole chat turns on fake Gemini: lists, moves, steps, views."""

from __future__ import annotations

import json
from datetime import date

from tests.fakes.chatkit import (
    answer_card,
    confirmation_card,
    create_thread,
    stream,
    thread_id,
)
from tests.fakes.gemini import Text, ToolCalls


def _outputs(request) -> list[dict]:
    return [json.loads(m["content"]) for m in request.messages if m["role"] == "tool"]


async def _make(c, title: str, **fields) -> dict:
    r = await c.post("/api/tasks", json={"title": title, **fields})
    assert r.status_code == 201, r.text
    return r.json()


async def _lists(c) -> dict[str, str]:
    return {x["name"]: x["id"] for x in (await c.get("/api/lists")).json()["items"]}


async def test_move_everything_about_the_trip_to_a_travel_list(chat, gemini):
    async with chat.client() as c:
        flight = await _make(c, "Book flight for the trip")
        hotel = await _make(c, "Trip hotel")
        await _make(c, "Pay rent")
        gemini.push(
            ToolCalls([("list_tasks", {"q": "trip"})]),
            ToolCalls([("create_list", {"name": "Travel", "emoji": "🧳"})]),
            ToolCalls(
                [("move_tasks", {"task_ids": [flight["id"], hotel["id"]], "list": "travel"})]
            ),
            Text(["Moved 2 tasks to Travel."]),
        )
        await stream(c, create_thread("move everything about the trip to a Travel list"))
        travel = (await _lists(c))["Travel"]
        r = await c.get("/api/tasks", params={"list_id": travel})
        assert [t["title"] for t in r.json()["items"]] == [
            "Book flight for the trip",
            "Trip hotel",
        ]
        r = await c.get("/api/tasks", params={"q": "rent"})
        assert r.json()["items"][0]["list_id"] == (await _lists(c))["Inbox"]
    found = _outputs(gemini.requests[1])[0]
    assert {t["title"] for t in found["tasks"]} == {"Book flight for the trip", "Trip hotel"}
    assert _outputs(gemini.requests[2])[-1]["created"]["name"] == "Travel"
    moved = _outputs(gemini.requests[3])[-1]
    assert len(moved["succeeded"]) == 2 and moved["list"]["name"] == "Travel"


async def test_whats_on_today(chat, gemini):
    async with chat.client() as c:
        await _make(c, "Overdue thing", due="2020-01-01")
        await _make(c, "Later thing", due="2099-01-01")
        await _make(c, "Undated")
        gemini.push(ToolCalls([("list_tasks", {"view": "today"})]), Text(["One overdue."]))
        await stream(c, create_thread("what's on today?"))
    out = _outputs(gemini.requests[1])[0]
    assert [t["title"] for t in out["tasks"]] == ["Overdue thing"] and out["total"] == 1


async def test_break_a_task_into_steps_and_list_them(chat, gemini):
    async with chat.client() as c:
        parent = await _make(c, "Plan the move", due=date.today().isoformat())
        gemini.push(
            ToolCalls(
                [
                    ("create_task", {"title": "Book van", "parent_id": parent["id"]}),
                    ("create_task", {"title": "Pack books", "parent_id": parent["id"]}),
                ]
            ),
            ToolCalls([("list_tasks", {"parent_id": parent["id"]})]),
            ToolCalls([("complete_task", {"task_id": parent["id"]})]),
            Text(["Two steps are still open."]),
        )
        await stream(c, create_thread("break 'plan the move' into steps"))
        got = (await c.get(f"/api/tasks/{parent['id']}")).json()
    assert (got["subtasks_total"], got["subtasks_done"], got["completed"]) == (2, 0, False)
    steps = _outputs(gemini.requests[2])[-1]["tasks"]
    # The two create_task calls run in parallel, so the steps' order is not the model's
    # (a known gap, in the closing note of issue 27); both are listed under the parent.
    assert sorted(t["title"] for t in steps) == ["Book van", "Pack books"]
    refused = _outputs(gemini.requests[3])[-1]["error"]
    assert "Book van" in refused and "Pack books" in refused


async def test_create_and_update_task_with_a_list_name(chat, gemini):
    async with chat.client() as c:
        await c.post("/api/lists", json={"name": "Work"})
        gemini.push(
            ToolCalls([("create_task", {"title": "Slides", "list": "work"})]),
            Text(["ok"]),
        )
        await stream(c, create_thread("add slides to work"))
        work = (await _lists(c))["Work"]
        [task] = (await c.get("/api/tasks", params={"list_id": work})).json()["items"]
        gemini.push(
            ToolCalls([("update_task", {"task_id": task["id"], "list": "Nowhere"})]),
            Text(["No such list."]),
        )
        await stream(c, create_thread("move slides to nowhere"))
    assert "No list called 'Nowhere'" in _outputs(gemini.requests[3])[0]["error"]


async def test_delete_list_with_its_tasks_needs_confirmation(chat, gemini):
    async with chat.client() as c:
        r = await c.post("/api/lists", json={"name": "Old"})
        old = r.json()["id"]
        keep = await _make(c, "kept", list_id=old)
        gemini.push(
            ToolCalls([("delete_list", {"list": "Old", "delete_tasks": True})]),
            Text(["Confirm below."]),
        )
        events = await stream(c, create_thread("delete the Old list and its tasks"))
        assert "Old" not in await _lists(c)
        # Nothing deleted yet: the task waits in the Inbox for the person's answer.
        r = await c.get(f"/api/tasks/{keep['id']}")
        assert r.status_code == 200 and r.json()["list_id"] == (await _lists(c))["Inbox"]
        item_id, widget = confirmation_card(events)
        await stream(c, answer_card(thread_id(events), item_id, widget, "confirm"))
        assert (await c.get(f"/api/tasks/{keep['id']}")).status_code == 404
