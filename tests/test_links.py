"""Task ↔ message links: the agent's changes record thread and turn; `source` follows edits,
task deletes drop links, thread deletes leave tasks without a source."""

from __future__ import annotations

from sqlmodel import select

from app.search.links import TaskLink
from tests.fakes.chatkit import (
    add_message,
    answer_card,
    confirmation_card,
    create_thread,
    items_of,
    of_type,
    stream,
    thread_id,
)
from tests.fakes.gemini import Text, ToolCalls


async def _tasks(c) -> dict[str, dict]:
    r = await c.get("/api/tasks", params={"limit": 200})
    return {t["id"]: t for t in r.json()["items"]}


async def _links(db) -> list[TaskLink]:
    async with db() as s:
        return list((await s.exec(select(TaskLink).order_by(TaskLink.id))).all())


def _effects(events) -> list[dict]:
    return [e.data for e in of_type(events, "client_effect") if e.name == "tasks_changed"]


async def test_created_task_points_at_its_thread_and_user_message(chat, gemini, db):
    gemini.push(ToolCalls([("create_task", {"title": "Renew passport"})]), Text(["Added."]))
    async with chat.client() as c:
        events = await stream(c, create_thread("remind me to renew my passport"))
        thread = thread_id(events)
        [task] = (await _tasks(c)).values()
        single = (await c.get(f"/api/tasks/{task['id']}")).json()
    user_item = next(i for i in await items_of(db, thread) if i.type == "user_message")
    expected = {
        "thread_id": thread,
        "thread_title": "remind me to renew my passport",
        "item_id": user_item.id,
    }
    assert task["source"] == expected and single["source"] == expected
    assert _effects(events)[0]["tasks"] == [{"id": task["id"], "title": "Renew passport"}]
    [link] = await _links(db)
    assert (link.task_id, link.thread_id, link.item_id, link.action) == (
        task["id"],
        thread,
        user_item.id,
        "created",
    )


async def test_latest_change_wins_and_rest_edits_keep_the_source(chat, gemini, db):
    async with chat.client() as c:
        gemini.push(ToolCalls([("create_task", {"title": "draft"})]), Text(["ok"]))
        first = thread_id(await stream(c, create_thread("first thread")))
        [task_id] = await _tasks(c)
        gemini.push(
            ToolCalls([("update_task", {"task_id": task_id, "title": "final"})]), Text(["ok"])
        )
        second_events = await stream(c, create_thread("second thread"))
        second = thread_id(second_events)
        assert _effects(second_events)[0]["tasks"] == [{"id": task_id, "title": "final"}]
        assert (await _tasks(c))[task_id]["source"]["thread_id"] == second
        # A follow-up turn in the first thread completes it: the newest turn is the source.
        gemini.push(ToolCalls([("complete_task", {"task_id": task_id})]), Text(["done"]))
        await stream(c, add_message(first, "mark it done"))
        source = (await _tasks(c))[task_id]["source"]
        user_items = [i for i in await items_of(db, first) if i.type == "user_message"]
        assert source == {
            "thread_id": first,
            "thread_title": "first thread",
            "item_id": user_items[-1].id,
        }
        # Edits through the panel (REST) answer with the source and keep it.
        patched = await c.patch(f"/api/tasks/{task_id}", json={"priority": "high"})
        assert patched.json()["source"] == source
        done = await c.post(f"/api/tasks/{task_id}/complete", json={"completed": False})
        assert done.json()["source"] == source
    assert [link.action for link in await _links(db)] == ["created", "updated", "completed"]


async def test_deleting_a_task_removes_its_links(chat, gemini, db):
    async with chat.client() as c:
        gemini.push(
            ToolCalls([("create_task", {"title": "a"}), ("create_task", {"title": "b"})]),
            Text(["ok"]),
        )
        await stream(c, create_thread("two tasks"))
        ids = {t["title"]: t["id"] for t in (await _tasks(c)).values()}
        gemini.push(ToolCalls([("delete_task", {"task_id": ids["a"]})]), Text(["gone"]))
        events = await stream(c, create_thread("delete a"))
        assert _effects(events)[0]["tasks"] == [{"id": ids["a"], "title": "a"}]
        assert (await c.delete(f"/api/tasks/{ids['b']}")).status_code == 204
    assert await _links(db) == []


async def test_bulk_delete_chips_keep_titles_and_links_go(chat, gemini, db):
    async with chat.client() as c:
        gemini.push(
            ToolCalls([("create_task", {"title": "x"}), ("create_task", {"title": "y"})]),
            Text(["ok"]),
        )
        await stream(c, create_thread("make x and y"))
        ids = sorted((await _tasks(c)).items(), key=lambda kv: kv[1]["title"])
        gemini.push(
            ToolCalls([("bulk_delete_tasks", {"task_ids": [i for i, _ in ids]})]), Text(["ok"])
        )
        asked = await stream(c, create_thread("delete both"))
        # Bulk deletes wait for the person's confirmation (tests/test_chat_confirm.py).
        item_id, widget = confirmation_card(asked)
        events = await stream(c, answer_card(thread_id(asked), item_id, widget, "confirm"))
    assert _effects(events)[0]["tasks"] == [{"id": i, "title": t["title"]} for i, t in ids]
    assert await _links(db) == []


async def test_deleting_the_thread_keeps_the_task_without_source(chat, gemini, db):
    async with chat.client() as c:
        gemini.push(ToolCalls([("create_task", {"title": "keep me"})]), Text(["ok"]))
        thread = thread_id(await stream(c, create_thread("temporary chat")))
        [task_id] = await _tasks(c)
        r = await c.post(
            "/api/chatkit", json={"type": "threads.delete", "params": {"thread_id": thread}}
        )
        assert r.status_code == 200, r.text
        task = (await _tasks(c))[task_id]
    assert task["title"] == "keep me" and task["source"] is None
    assert await _links(db) == []


async def test_tasks_made_in_the_panel_have_no_source_and_links_are_per_user(chat, gemini):
    async with chat.client() as c:
        r = await c.post("/api/tasks", json={"title": "by hand"})
        assert r.json()["source"] is None
        gemini.push(ToolCalls([("create_task", {"title": "by chat"})]), Text(["ok"]))
        await stream(c, create_thread("add by chat"))
    async with chat.client("other-user") as other:
        assert (await other.get("/api/tasks")).json()["items"] == []
    async with chat.client() as c:
        sources = {t["title"]: t["source"] for t in (await _tasks(c)).values()}
    assert sources["by hand"] is None and sources["by chat"] is not None


async def test_model_does_not_see_source_in_tool_output(chat, gemini):
    import json

    gemini.push(ToolCalls([("create_task", {"title": "t"})]), Text(["ok"]))
    async with chat.client() as c:
        await stream(c, create_thread("add t"))
    outputs = [m["content"] for m in gemini.requests[1].messages if m["role"] == "tool"]
    assert "source" not in json.loads(outputs[0])["created"]


async def test_thread_task_links_list_each_turns_tasks(chat, gemini, db):
    async with chat.client() as c:
        gemini.push(
            ToolCalls([("create_task", {"title": "one"}), ("create_task", {"title": "two"})]),
            Text(["ok"]),
        )
        thread = thread_id(await stream(c, create_thread("make one and two")))
        r = await c.get(f"/api/threads/{thread}/task-links")
        other = await c.get(
            f"/api/threads/{thread}/task-links", headers=chat.headers("someone-else")
        )
    user_item = next(i for i in await items_of(db, thread) if i.type == "user_message")
    links = r.json()["links"]
    assert sorted(x["title"] for x in links) == ["one", "two"]
    assert {x["item_id"] for x in links} == {user_item.id}
    assert {x["action"] for x in links} == {"created"}
    assert other.json() == {"links": []}
