"""Gemini 3's wire quirks over real HTTP: parallel-call shapes, thought signatures, efforts."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from app.chat.models import ChatItem
from app.chat.wire import SignatureBook, ToolCallIds
from tests.fakes.chatkit import add_message, create_thread, of_type, reply_text, stream, thread_id
from tests.fakes.gemini import MISSING_SIGNATURE, SHAPES, Text, ToolCalls


async def _titles(c) -> list[str]:
    return sorted(t["title"] for t in (await c.get("/api/tasks")).json()["items"])


def _tool_messages(request) -> list[dict]:
    return [m for m in request.messages if m["role"] == "tool"]


@pytest.mark.parametrize("shape", SHAPES)
async def test_two_parallel_calls_make_two_tasks_in_every_shape(chat, gemini, shape):
    gemini.thought_signatures = True
    gemini.push(
        ToolCalls(
            [("create_task", {"title": "ham"}), ("create_task", {"title": "jam"})], shape=shape
        ),
        Text(["Added ham and jam."]),
    )
    async with chat.client() as c:
        events = await stream(c, create_thread("add tasks ham and jam"))
        assert await _titles(c) == ["ham", "jam"]
    assert reply_text(events) == "Added ham and jam."
    # Both calls went back to Gemini as two calls with their own results, the first with
    # its signature (or Gemini 3 would have refused the request).
    [assistant] = [m for m in gemini.requests[1].messages if m.get("tool_calls")]
    assert [json.loads(c["function"]["arguments"]) for c in assistant["tool_calls"]] == [
        {"title": "ham"},
        {"title": "jam"},
    ]
    assert len(_tool_messages(gemini.requests[1])) == 2
    assert len(of_type(events, "client_effect")) == 2


def _echoed(requests, signatures: dict[str, str]) -> list[tuple[str, str | None]]:
    """(call id, signature sent) of every signed call echoed in `requests`."""
    seen = []
    for request in requests:
        for message in request.messages:
            for call in message.get("tool_calls") or ():
                if call["id"] in signatures:
                    google = (call.get("extra_content") or {}).get("google") or {}
                    seen.append((call["id"], google.get("thought_signature")))
    return seen


@pytest.mark.parametrize(
    "app_env",
    [{"GEMINI_MODEL": "gemini-3-flash-preview"}, {"GEMINI_MODEL": "my-tuned-flash"}],
    ids=["gemini-name", "alias-without-gemini"],
)
async def test_a_three_turn_thread_replays_its_tool_calls_with_their_signatures(
    chat, gemini, app_env
):
    """Each turn's tool calls keep their thought signatures: within the turn (Gemini 3
    refuses the request otherwise), and when later turns replay them from the store, also
    after a restart and for a model name without "gemini" (an alias or a tuned model)."""
    gemini.thought_signatures = True
    gemini.push(
        ToolCalls([("create_task", {"title": "milk"})]),
        Text(["Added milk."]),
        ToolCalls([("list_tasks", {}), ("create_task", {"title": "eggs"})], shape="same_index"),
        Text(["You have milk; added eggs."]),
    )
    async with chat.client() as c:
        first = await stream(c, create_thread("add milk"))
        tid = thread_id(first)
        second = await stream(c, add_message(tid, "what do I have? add eggs"))
        # A restart: a new chat server, which has seen no signature; only the store has.
        chat.app.state.chat_server = None
        gemini.push(Text(["Milk and eggs."]))
        third = await stream(c, add_message(tid, "and now?"))
        assert await _titles(c) == ["eggs", "milk"]
    for events in (first, second, third):
        assert of_type(events, "error") == []
    assert reply_text(third) == "Milk and eggs."
    assert len(gemini.signatures) == 2
    assert [r for r in gemini.requests if gemini.refusal(r.body) is not None] == []
    echoed = _echoed(gemini.requests, gemini.signatures)
    # Turn 1's call: in turn 1's second request, turn 2's two, turn 3's one: 4 echoes;
    # turn 2's first call: in its second request and turn 3's: 2. Every one signed.
    assert all(signature == gemini.signatures[i] for i, signature in echoed)
    counts = {i: sum(1 for j, _ in echoed if j == i) for i in gemini.signatures}
    assert sorted(counts.values()) == [2, 4]
    # The signature is stored with the hidden tool-call item.
    async with chat.app.state.sessionmaker() as s:
        rows = (await s.exec(select(ChatItem).where(ChatItem.thread_id == tid))).all()
    stored = [
        r.data["content"]["tool_call"]
        for r in rows
        if isinstance(r.data.get("content"), dict) and "tool_call" in r.data["content"]
    ]
    assert sorted(c["thought_signature"] for c in stored if "thought_signature" in c) == sorted(
        gemini.signatures.values()
    )


async def test_the_fake_refuses_a_current_turn_call_without_its_signature(gemini):
    """The fake behaves as Gemini 3 does, so the tests above can fail."""
    gemini.thought_signatures = True
    gemini.signatures["function-call-1"] = "sig-a"
    call = {"id": "function-call-1", "type": "function",
            "function": {"name": "list_tasks", "arguments": "{}"}}  # fmt: skip
    body = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "function-call-1", "content": "{}"},
        ]
    }
    assert gemini.refusal(body) is MISSING_SIGNATURE
    call["extra_content"] = {"google": {"thought_signature": "sig-a"}}
    assert gemini.refusal(body) is None
    # An earlier turn's call is not checked.
    del call["extra_content"]
    body["messages"].append({"role": "user", "content": "next"})
    assert gemini.refusal(body) is None


async def test_reasoning_effort_the_model_rejects_is_never_sent(gemini, settings):
    from app.chat.gemini import GeminiClients

    client = GeminiClients().get(settings)
    stream_ = await client.chat.completions.create(
        model="gemini-3-flash-preview",
        messages=[{"role": "user", "content": "hi"}],
        reasoning_effort="minimal",
        stream=True,
    )
    async for _ in stream_:
        pass
    assert gemini.requests[-1].body["reasoning_effort"] == "low"
    await client.close()


def test_tool_call_ids_keep_openai_style_continuations_together():
    """Deltas with an index and no id continue the call that index began."""
    ids = ToolCallIds(SignatureBook())
    chunks = [
        {"choices": [{"delta": {"tool_calls": [
            {"index": 0, "id": "a", "function": {"name": "x", "arguments": ""}}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]},
        {"choices": [{"delta": {"tool_calls": [
            {"index": 0, "id": "b", "function": {"name": "y", "arguments": "{"}}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}}]},
    ]  # fmt: skip
    for chunk in chunks:
        ids.fix(chunk)
    assert [c["choices"][0]["delta"]["tool_calls"][0]["index"] for c in chunks] == [0, 0, 1, 1]
