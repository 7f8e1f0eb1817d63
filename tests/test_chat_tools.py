"""The seven task tools through a whole chat turn: tasks change, the UI is told, errors go back."""

from __future__ import annotations

import json

import pytest

from app.chat.tools import SPECS
from tests.fakes.chatkit import (
    answer_card,
    confirmation_card,
    create_thread,
    of_type,
    reply_text,
    stream,
    thread_id,
)
from tests.fakes.gemini import Text, ToolCalls


async def _make_tasks(c, *titles: str) -> list[str]:
    ids = []
    for title in titles:
        r = await c.post("/api/tasks", json={"title": title})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


async def _tasks(c) -> dict[str, dict]:
    r = await c.get("/api/tasks", params={"limit": 200})
    return {t["id"]: t for t in r.json()["items"]}


def _effects(events) -> list[dict]:
    return [e.data for e in of_type(events, "client_effect") if e.name == "tasks_changed"]


def _tool_outputs(request) -> list[dict]:
    return [json.loads(m["content"]) for m in request.messages if m["role"] == "tool"]


def test_tool_schemas_are_flat_for_gemini():
    names = [s.name for s in SPECS]
    assert names == [
        "create_task", "list_tasks", "update_task", "delete_task", "complete_task",
        "bulk_complete_tasks", "bulk_delete_tasks",
        "list_lists", "create_list", "move_tasks", "delete_list",
    ]  # fmt: skip
    for spec in SPECS:
        text = json.dumps(spec.schema)
        for banned in ("$ref", "$defs", "default", "additionalProperties", "anyOf"):
            assert banned not in text, (spec.name, banned)
        assert spec.schema["type"] == "object"
        for prop in spec.schema["properties"].values():
            assert prop["type"] in ("string", "integer", "boolean", "array")
    assert "title" in SPECS[0].schema["required"]


async def test_tools_are_sent_to_gemini_as_flat_functions(chat, gemini):
    async with chat.client() as c:
        await stream(c, create_thread("hello"))
    sent = gemini.requests[0].body["tools"]
    assert [t["function"]["name"] for t in sent] == [s.name for s in SPECS]
    assert "$defs" not in json.dumps(sent) and '"default"' not in json.dumps(sent)


async def test_create_task_tool(chat, gemini):
    gemini.push(
        ToolCalls(
            [("create_task", {"title": "Buy milk", "priority": "high", "due": "2030-01-02"})]
        ),
        Text(["Added ", "milk."]),
    )
    async with chat.client() as c:
        events = await stream(c, create_thread("add buy milk, high, due 2030-01-02"))
        tasks = list((await _tasks(c)).values())
    assert [(t["title"], t["priority"], t["due"]) for t in tasks] == [
        ("Buy milk", "high", "2030-01-02")
    ]
    assert _effects(events) == [
        {
            "action": "created",
            "ids": [tasks[0]["id"]],
            "tasks": [{"id": tasks[0]["id"], "title": tasks[0]["title"]}],
            "change_id": _effects(events)[0]["change_id"],  # for undo (test_chat_confirm.py)
        }
    ]
    assert any(e.text for e in of_type(events, "progress_update"))
    assert reply_text(events) == "Added milk."
    # The tool result went back to the model in the second request.
    assert _tool_outputs(gemini.requests[1])[0]["created"]["title"] == "Buy milk"


async def test_parallel_tool_calls_without_index_create_two_tasks(chat, gemini):
    gemini.push(
        ToolCalls([("create_task", {"title": "eggs"}), ("create_task", {"title": "bread"})]),
        Text(["Added eggs and bread."]),
    )
    async with chat.client() as c:
        events = await stream(c, create_thread("Add tasks eggs and bread"))
        titles = sorted(t["title"] for t in (await _tasks(c)).values())
    assert titles == ["bread", "eggs"]
    assert len(_effects(events)) == 2
    second = gemini.requests[1].messages
    calls = [m for m in second if m["role"] == "assistant" and m.get("tool_calls")]
    assert len(calls[0]["tool_calls"]) == 2
    assert len(_tool_outputs(gemini.requests[1])) == 2


async def test_tool_calls_with_finish_reason_stop_still_run(chat, gemini):
    gemini.push(
        ToolCalls([("create_task", {"title": "call mum"})], finish_reason="stop"),
        Text(["Done."]),
    )
    async with chat.client() as c:
        await stream(c, create_thread("remind me to call mum"))
        assert [t["title"] for t in (await _tasks(c)).values()] == ["call mum"]


async def test_list_tasks_tool(chat, gemini):
    async with chat.client() as c:
        await _make_tasks(c, "alpha report", "beta launch")
        gemini.push(ToolCalls([("list_tasks", {"q": "alpha"})]), Text(["You have alpha."]))
        events = await stream(c, create_thread("what about alpha?"))
    output = _tool_outputs(gemini.requests[1])[0]
    assert output["total"] == 1 and output["tasks"][0]["title"] == "alpha report"
    assert _effects(events) == []  # reading changes nothing


@pytest.mark.parametrize(
    ("tool", "args", "check"),
    [
        ("update_task", {"title": "renamed", "priority": "low"},
         lambda t: t["title"] == "renamed" and t["priority"] == "low"),
        ("complete_task", {}, lambda t: t["completed"] is True),
        ("delete_task", {}, lambda t: t is None),
    ],
)  # fmt: skip
async def test_single_task_tools(chat, gemini, tool, args, check):
    async with chat.client() as c:
        [task_id] = await _make_tasks(c, "original")
        gemini.push(ToolCalls([(tool, {"task_id": task_id, **args})]), Text(["ok"]))
        events = await stream(c, create_thread(f"please {tool}"))
        assert check((await _tasks(c)).get(task_id))
    assert _effects(events)[0]["ids"] == [task_id]


@pytest.mark.parametrize("tool", ["bulk_complete_tasks", "bulk_delete_tasks"])
async def test_bulk_tools(chat, gemini, tool):
    async with chat.client() as c:
        ids = await _make_tasks(c, "one", "two", "three")
        gemini.push(ToolCalls([(tool, {"task_ids": [*ids[:2], "no-such-id"]})]), Text(["ok"]))
        events = await stream(c, create_thread(f"please {tool}"))
        if tool == "bulk_delete_tasks":  # waits for the person (tests/test_chat_confirm.py)
            item_id, widget = confirmation_card(events)
            events = await stream(c, answer_card(thread_id(events), item_id, widget, "confirm"))
        after = await _tasks(c)
    if tool == "bulk_delete_tasks":
        assert list(after) == [ids[2]]
    else:
        assert [after[i]["completed"] for i in ids] == [True, True, False]
    assert _effects(events)[0]["ids"] == ids[:2]
    assert _tool_outputs(gemini.requests[1])[0]["not_found"] == ["no-such-id"]


async def test_tool_errors_go_back_to_the_model(chat, gemini):
    gemini.push(
        ToolCalls([("complete_task", {"task_id": "missing"}), ("create_task", {"title": "  "})]),
        Text(["Sorry, I could not find that task."]),
    )
    async with chat.client() as c:
        events = await stream(c, create_thread("complete the missing task"))
    errors = [o["error"] for o in _tool_outputs(gemini.requests[1])]
    assert "No task with id 'missing'" in errors[0]
    assert "title" in errors[1]
    assert of_type(events, "error") == []
    assert reply_text(events) == "Sorry, I could not find that task."


async def test_tools_only_touch_the_requesting_users_tasks(chat, gemini):
    async with chat.client() as c:
        [mine] = await _make_tasks(c, "mine")
    gemini.push(ToolCalls([("delete_task", {"task_id": mine})]), Text(["ok"]))
    async with chat.client(user_id="other-user") as other:
        await stream(other, create_thread("delete it"))
    assert "No task" in _tool_outputs(gemini.requests[1])[0]["error"]
    async with chat.client() as c:
        assert mine in await _tasks(c)
