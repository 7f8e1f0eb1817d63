"""Failures the person can act on: each one streams a clear error and keeps their message."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time

import pytest

from tests.fakes.chatkit import (
    TEST_KEY,
    create_thread,
    items_of,
    of_type,
    stream,
    thread_id,
)
from tests.fakes.gemini import Fail, Hang, Text

BAD_KEY = Fail(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT",
               reason="API_KEY_INVALID")  # fmt: skip


async def _failed_turn(server, db, text="add milk"):
    async with server.client() as c:
        events = await stream(c, create_thread(text))
    [error] = of_type(events, "error")
    items = await items_of(db, thread_id(events))
    assert items[0].type == "user_message"
    assert items[0].data["content"][0]["text"] == text  # the message is kept
    return error, events, items


@pytest.mark.parametrize("app_env", [{"GEMINI_API_KEY": ""}])
async def test_no_key_asks_for_one_in_settings(chat, gemini, db):
    error, _, _ = await _failed_turn(chat, db)
    assert error.message.startswith("Add your Gemini API key in Settings")
    assert error.allow_retry is False
    assert gemini.requests == []


@pytest.mark.parametrize(
    "reply",
    [BAD_KEY, Fail(401, "unauthenticated", "UNAUTHENTICATED"),
     Fail(403, "Permission denied", "PERMISSION_DENIED")],
)  # fmt: skip
async def test_rejected_key(chat, gemini, db, reply, caplog):
    gemini.push(reply)
    caplog.set_level(logging.DEBUG)
    error, events, _ = await _failed_turn(chat, db)
    assert "rejected your API key" in error.message
    assert gemini.requests[0].headers["authorization"] == f"Bearer {TEST_KEY}"
    # The key never reaches the person or the log.
    assert TEST_KEY not in json.dumps([e.model_dump(mode="json") for e in events])
    assert TEST_KEY not in caplog.text


async def test_quota_exhausted(chat, gemini, db):
    gemini.push(Fail(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"))
    error, _, _ = await _failed_turn(chat, db)
    assert "quota" in error.message and error.allow_retry is True


@pytest.mark.parametrize("app_env", [{"TASKCHAT_MAX_RETRIES": "2"}])
async def test_quota_wait_is_shown_not_waited_out_silently(chat, gemini, db):
    """The openai client would sleep through Retry-After unseen; the turn fails at once
    and tells the chat view how long to count down before it retries."""
    gemini.push(Fail(429, "slow down", "RESOURCE_EXHAUSTED", headers={"Retry-After": "20"}),
                Text(["fine now"]))  # fmt: skip
    started = time.perf_counter()
    error, events, _ = await _failed_turn(chat, db)
    assert time.perf_counter() - started < 5
    assert len(gemini.requests) == 1
    assert error.message.endswith("Try again in 20 seconds.") and error.allow_retry is True
    [effect] = [e for e in of_type(events, "client_effect") if e.name == "turn_failed"]
    assert effect.data == {"code": "quota", "retry_after": 20}


async def test_quota_wait_from_retry_info(chat, gemini, db):
    gemini.push(Fail(429, "Quota exceeded", "RESOURCE_EXHAUSTED", retry_delay="7.2s"))
    error, events, _ = await _failed_turn(chat, db)
    [effect] = [e for e in of_type(events, "client_effect") if e.name == "turn_failed"]
    assert effect.data == {"code": "quota", "retry_after": 8}
    assert "Try again in 8 seconds." in error.message


@pytest.mark.parametrize("app_env", [{"GEMINI_MODEL": "no-such-model-xyz"}])
async def test_model_not_found(chat, gemini, db):
    gemini.push(Fail(404, "models/no-such-model-xyz is not found for API version v1main",
                     "NOT_FOUND"))  # fmt: skip
    error, _, _ = await _failed_turn(chat, db)
    assert 'no model called "no-such-model-xyz"' in error.message
    assert gemini.requests[0].body["model"] == "no-such-model-xyz"


# Port 1 on loopback: nothing listens there, so the connection is refused.
@pytest.mark.parametrize("app_env", [{"GEMINI_BASE_URL": "http://127.0.0.1:1/v1beta/openai/"}])
async def test_gemini_unreachable_is_not_called_offline(chat, gemini, db):
    error, events, _ = await _failed_turn(chat, db)
    assert error.message.startswith("Can't reach Gemini right now — your message is saved")
    assert error.allow_retry is True
    [effect] = [e for e in of_type(events, "client_effect") if e.name == "turn_failed"]
    assert effect.data == {"code": "unreachable", "retry_after": None}


# A name that cannot resolve (.invalid never does): the lookup fails as it does offline.
@pytest.mark.parametrize("app_env", [{"GEMINI_BASE_URL": "http://gemini.invalid/v1beta/openai/"}])
async def test_offline(chat, gemini, db):
    error, events, _ = await _failed_turn(chat, db)
    assert error.message.startswith("You are offline — your message is saved")
    assert error.allow_retry is True
    [effect] = [e for e in of_type(events, "client_effect") if e.name == "turn_failed"]
    assert effect.data["code"] == "offline"


@pytest.mark.parametrize("app_env", [{"TASKCHAT_REQUEST_TIMEOUT": "0.5"}])
async def test_request_timeout(chat, gemini, db):
    gemini.push(Hang(3))
    error, _, _ = await _failed_turn(chat, db)
    assert "took too long" in error.message


@pytest.mark.parametrize("app_env", [{"TASKCHAT_TURN_TIMEOUT": "1"}])
async def test_turn_timeout_stops_the_turn_and_keeps_partial_text(chat, gemini, db):
    gemini.push(Text(["Half an", " answer", " never finished"], delay=3))
    started = time.monotonic()
    error, _, items = await _failed_turn(chat, db)
    assert time.monotonic() - started < 2.5
    assert "took too long" in error.message
    # The partial reply is kept, then a hidden note tells the next turn it was cut off.
    assert [i.type for i in items] == ["user_message", "assistant_message", "sdk_hidden_context"]
    assert items[1].data["content"][0]["text"] == "Half an"


async def test_stream_cut_off(chat, gemini, db):
    gemini.push(Text(["Hel", "lo", " world"], cut_after=2))
    error, _, _ = await _failed_turn(chat, db)
    assert "broke off" in error.message


async def test_server_error(chat, gemini, db):
    gemini.push(Fail(503, "The model is overloaded.", "UNAVAILABLE"))
    error, _, _ = await _failed_turn(chat, db)
    assert "trouble" in error.message and error.allow_retry


async def test_cancel_mid_stream_keeps_partial_reply(chat, gemini, db):
    gemini.push(Text(["Partial", " reply", " that", " goes", " on"], delay=0.4))
    async with chat.client() as c:
        async with c.stream("POST", "/api/chatkit", content=json.dumps(create_thread("hi"))) as r:
            async for line in r.aiter_lines():
                if "text_delta" in line:
                    break  # the person pressed stop / closed the window
                if "thread.created" in line:
                    tid = json.loads(line[6:])["thread"]["id"]
    for _ in range(50):
        items = await items_of(db, tid)
        if any(i.type == "sdk_hidden_context" for i in items):
            break  # written last, after the partial reply
        await asyncio.sleep(0.1)
    kinds = [i.type for i in items]
    assert kinds[:2] == ["user_message", "assistant_message"]
    assert items[1].data["content"][0]["text"].startswith("Partial")
    assert items[1].id != "__fake_id__"
    assert "sdk_hidden_context" in kinds  # tells the model the reply was cut short


def _asyncio_problems(caplog) -> list[str]:
    gc.collect()  # asyncio reports an unretrieved exception when its task is collected
    return [r.getMessage() for r in caplog.records if r.name == "asyncio"]


async def test_stopped_reply_leaves_no_error_in_the_log(chat, gemini, db, caplog):
    """Stopping a reply is an everyday act, not an error: the reads ChatKit leaves in
    flight must not end up in the log ("Task exception was never retrieved", "Task was
    destroyed but it is pending")."""
    gemini.push(Text(["Partial", " reply", " that", " goes", " on"], delay=0.4))
    caplog.set_level(logging.WARNING)
    async with chat.client() as c:
        async with c.stream("POST", "/api/chatkit", content=json.dumps(create_thread("hi"))) as r:
            async for line in r.aiter_lines():
                if "thread.created" in line:
                    tid = json.loads(line[6:])["thread"]["id"]
                if "text_delta" in line:
                    break
    for _ in range(50):
        if any(i.type == "sdk_hidden_context" for i in await items_of(db, tid)):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # the model's next chunk arrives after the stop
    assert _asyncio_problems(caplog) == []


async def test_failed_reply_leaves_no_asyncio_error_in_the_log(chat, gemini, db, caplog):
    gemini.push(Text(["Half", " a", " reply"], delay=0.05, cut_after=2))
    caplog.set_level(logging.WARNING)
    async with chat.client() as c:
        events = await stream(c, create_thread("hi"))
    assert of_type(events, "error")
    await asyncio.sleep(0.3)
    assert _asyncio_problems(caplog) == []
    assert "chat turn failed" in caplog.text  # TaskChat's own line says what happened
