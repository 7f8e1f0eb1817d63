"""Destructive actions need the person: confirmation cards for deletions, undo for tool changes.

Everything over real HTTP: the model (fake Gemini) asks to delete, the card arrives as a
widget item, the person answers with threads.custom_action, the task panel undoes with
POST /api/tasks/undo/{change_id}.
"""

from __future__ import annotations

import json

import pytest

from app.chat.confirm import CANCEL, CONFIRM
from tests.fakes.chatkit import (
    add_message,
    answer_card,
    call,
    confirmation_card,
    create_thread,
    of_type,
    reply_text,
    stream,
    thread_id,
)
from tests.fakes.gemini import Text, ToolCalls


async def _make(c, *titles: str, tags=()) -> list[str]:
    ids = []
    for title in titles:
        r = await c.post("/api/tasks", json={"title": title, "tags": list(tags)})
        assert r.status_code == 201
        ids.append(r.json()["id"])
    return ids


async def _titles(c) -> list[str]:
    return sorted(t["title"] for t in (await c.get("/api/tasks")).json()["items"])


def _tool_outputs(request) -> list[dict]:
    return [json.loads(m["content"]) for m in request.messages if m["role"] == "tool"]


_card = confirmation_card
_answer = answer_card


async def _ask_to_delete(chat, gemini, c, ids):
    gemini.push(ToolCalls([("bulk_delete_tasks", {"task_ids": ids})]), Text(["Please confirm."]))
    events = await stream(c, create_thread("delete them"))
    return events, thread_id(events)


async def test_bulk_delete_waits_for_the_person_then_deletes_exactly_those(chat, gemini):
    async with chat.client() as c:
        ids = await _make(c, "alpha", "beta", "gamma")
        events, tid = await _ask_to_delete(chat, gemini, c, [*ids[:2], "no-such-id"])
        # Nothing deleted yet; the model was told to wait; the card lists the two titles.
        assert await _titles(c) == ["alpha", "beta", "gamma"]
        [output] = _tool_outputs(gemini.requests[1])
        assert output["status"] == "awaiting_confirmation" and output["deleted"] == []
        assert output["awaiting_confirmation"] == ids[:2]
        assert output["not_found"] == ["no-such-id"]
        assert [e for e in of_type(events, "client_effect")] == []
        item_id, widget = _card(events)
        text = json.dumps(widget)
        assert "alpha" in text and "beta" in text and "gamma" not in text
        assert widget["confirm"]["action"]["type"] == CONFIRM
        assert widget["cancel"]["action"]["type"] == CANCEL
        assert reply_text(events) == "Please confirm."
        # The card is part of the thread for a reload.
        listed = (await call(c, {"type": "items.list",
                                 "params": {"thread_id": tid, "order": "asc"}})).json()  # fmt: skip
        assert "widget" in [i["type"] for i in listed["data"]]

        answered = await stream(c, _answer(tid, item_id, widget, "confirm"))
        assert await _titles(c) == ["gamma"]
        [effect] = of_type(answered, "client_effect")
        assert effect.data["action"] == "deleted" and effect.data["ids"] == ids[:2]
        assert effect.data["change_id"].startswith("chg_")
        [replaced] = of_type(answered, "thread.item.replaced")
        assert replaced.item.id == item_id and "Deleted 2 tasks" in json.dumps(
            replaced.item.widget.model_dump(mode="json")
        )
        assert "confirm" not in replaced.item.widget.model_dump(exclude_none=True)
        assert reply_text(answered) == "Deleted 2 tasks."
        assert gemini.requests[2:] == []  # no model run for a button press

        # Pressing again (or an old card) changes nothing.
        again = await stream(c, _answer(tid, item_id, widget, "confirm"))
        assert of_type(again, "notice") and of_type(again, "client_effect") == []
        assert await _titles(c) == ["gamma"]

        # The next turn's model knows what happened.
        gemini.push(Text(["Noted."]))
        await stream(c, add_message(tid, "what did you delete?"))
        assert "The user confirmed. Deleted: alpha, beta." in json.dumps(
            gemini.requests[-1].messages
        )

        # Undo from the task panel brings them back, with their ids; once only.
        r = await c.post(f"/api/tasks/undo/{effect.data['change_id']}")
        assert r.status_code == 200, r.text
        assert sorted(r.json()["ids"]) == sorted(ids[:2])
        assert await _titles(c) == ["alpha", "beta", "gamma"]
        assert (await c.get(f"/api/tasks/{ids[0]}")).json()["title"] == "alpha"
        r = await c.post(f"/api/tasks/undo/{effect.data['change_id']}")
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


async def test_keep_deletes_nothing(chat, gemini):
    async with chat.client() as c:
        ids = await _make(c, "one", "two")
        events, tid = await _ask_to_delete(chat, gemini, c, ids)
        item_id, widget = _card(events)
        answered = await stream(c, _answer(tid, item_id, widget, "cancel"))
        assert await _titles(c) == ["one", "two"]
        assert of_type(answered, "client_effect") == []
        assert "Kept" in json.dumps(
            of_type(answered, "thread.item.replaced")[0].item.widget.model_dump()
        )
        confirm_later = await stream(c, _answer(tid, item_id, widget, "confirm"))
        assert of_type(confirm_later, "notice")
        assert await _titles(c) == ["one", "two"]


async def test_a_task_gone_before_confirming_is_reported_not_recreated(chat, gemini):
    async with chat.client() as c:
        ids = await _make(c, "one", "two")
        events, tid = await _ask_to_delete(chat, gemini, c, ids)
        assert (await c.delete(f"/api/tasks/{ids[0]}")).status_code == 204
        item_id, widget = _card(events)
        answered = await stream(c, _answer(tid, item_id, widget, "confirm"))
        assert reply_text(answered) == "Deleted 1 task. (1 had already been deleted.)"
        assert await _titles(c) == []


async def test_more_than_three_single_deletes_in_a_turn_need_confirmation(chat, gemini):
    async with chat.client() as c:
        ids = await _make(c, "a", "b", "c", "d", "e")
        gemini.push(
            ToolCalls([("delete_task", {"task_id": i}) for i in ids]),
            Text(["Done, please confirm the rest."]),
        )
        events = await stream(c, create_thread("delete all five"))
        # Three went at once (each undoable); the other two wait on one card. (The calls
        # run concurrently, so which three is not fixed.)
        left = await _titles(c)
        assert len(left) == 2
        outputs = _tool_outputs(gemini.requests[1])
        assert (
            sorted(o.get("status", "deleted") for o in outputs)
            == ["awaiting_confirmation"] * 2 + ["deleted"] * 3
        )
        item_id, widget = _card(events)  # exactly one card, for both
        listed = (
            await call(c, {"type": "items.list", "params": {"thread_id": thread_id(events)}})
        ).json()
        assert [i["type"] for i in listed["data"]].count("widget") == 1
        shown = json.dumps(widget, ensure_ascii=False)
        assert all(f"• {t}" in shown for t in left) and shown.count("• ") == 2
        answered = await stream(c, _answer(thread_id(events), item_id, widget, "confirm"))
        assert reply_text(answered) == "Deleted 2 tasks."
        assert await _titles(c) == []
        # A new turn starts counting again.
        more = await _make(c, "f")
        gemini.push(ToolCalls([("delete_task", {"task_id": more[0]})]), Text(["ok"]))
        await stream(c, create_thread("delete f"))
        assert await _titles(c) == []


async def test_another_user_cannot_answer_my_card(chat, gemini):
    async with chat.client() as c:
        ids = await _make(c, "mine")
        events, tid = await _ask_to_delete(chat, gemini, c, ids)
        item_id, widget = _card(events)
    async with chat.client(user_id="intruder") as other:
        r = await call(other, _answer(tid, item_id, widget, "confirm"))
        assert r.status_code == 404
    async with chat.client() as c:
        assert await _titles(c) == ["mine"]


async def test_unknown_actions_change_nothing(chat, gemini):
    async with chat.client() as c:
        ids = await _make(c, "x")
        _, tid = await _ask_to_delete(chat, gemini, c, ids)
        body = {"type": "threads.custom_action",
                "params": {"thread_id": tid, "action": {"type": "tasks.delete.everything",
                                                        "payload": {}}}}  # fmt: skip
        answered = await stream(c, body)
        assert of_type(answered, "notice") and await _titles(c) == ["x"]
        action = {"type": CONFIRM, "payload": {"confirmation_id": "x"}}
        forged = {"type": "threads.custom_action", "params": {"thread_id": tid, "action": action}}
        await stream(c, forged)
        assert await _titles(c) == ["x"]


@pytest.mark.parametrize(
    ("tool", "args", "after_undo"),
    [
        ("create_task", {"title": "made by the model"}, ["kept"]),
        ("update_task", {"title": "renamed", "tags": ["new"]}, ["kept"]),
        ("complete_task", {}, ["kept"]),
        ("delete_task", {}, ["kept"]),
        ("bulk_complete_tasks", None, ["kept"]),
    ],
)
async def test_every_tool_change_can_be_undone(chat, gemini, tool, args, after_undo):
    async with chat.client() as c:
        [kept] = await _make(c, "kept", tags=["old"])
        before = (await c.get(f"/api/tasks/{kept}")).json()
        call_args = {"task_ids": [kept]} if args is None else dict(args)
        if tool != "create_task" and args is not None:
            call_args["task_id"] = kept
        gemini.push(ToolCalls([(tool, call_args)]), Text(["ok"]))
        events = await stream(c, create_thread(f"please {tool}"))
        [effect] = of_type(events, "client_effect")
        r = await c.post(f"/api/tasks/undo/{effect.data['change_id']}")
        assert r.status_code == 200, r.text
        assert await _titles(c) == after_undo
        after = (await c.get(f"/api/tasks/{kept}")).json()
        for field in ("title", "tags", "completed", "completed_at", "priority", "due"):
            assert after[field] == before[field], field
        assert (await c.get("/api/tasks", params={"tag": "old"})).json()["total"] == 1
    async with chat.client(user_id="intruder") as other:
        r = await other.post(f"/api/tasks/undo/{effect.data['change_id']}")
        assert r.status_code == 404


async def test_undo_of_an_unknown_change_is_a_clean_404(chat, gemini):
    async with chat.client() as c:
        r = await c.post("/api/tasks/undo/chg_nope")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
