"""Hypothesis against POST /api/chatkit: requests built from the SDK's own request types,
then random JSON, then random bytes, on a live server with a fake Gemini.

Invariants for every request: no 5xx and no internal stream error; JSON errors in the one
error shape; another user's thread is never read or changed; and afterwards every stored
thread and item is one the SDK itself can load.
"""

from __future__ import annotations

import json
import sqlite3
import types
import typing
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import pytest
from chatkit.types import ChatKitReq, ThreadItem, ThreadStatus
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter

from tests.fakes.chatkit import (
    create_thread,
    user_input,
)
from tests.fuzz_util import HealthWatch, assert_every_row_acceptable

EXAMPLES = 500  # per test: 1,000 requests in all
NO_LIMITS = {"TASKCHAT_CHAT_PER_MINUTE": "0", "TASKCHAT_DAILY_MESSAGE_CAP": "0"}
pytestmark = pytest.mark.parametrize("app_env", [NO_LIMITS], ids=["no-limits"])
REQUEST_TYPES: list[type[BaseModel]] = list(typing.get_args(typing.get_args(ChatKitReq)[0]))
ITEMS: TypeAdapter[ThreadItem] = TypeAdapter(ThreadItem)
STATUS: TypeAdapter[ThreadStatus] = TypeAdapter(ThreadStatus)

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _annotation(model: type[BaseModel], name: str) -> Any:
    annotation = model.model_fields[name].annotation
    if isinstance(annotation, str | typing.ForwardRef):
        annotation = typing.get_type_hints(model, include_extras=True)[name]
    return annotation


def strategy_for(tp: Any, ids: st.SearchStrategy[str], name: str = "", depth: int = 0):
    """A strategy for values of type `tp`, mostly valid, ids drawn from `ids`."""
    if depth > 6:
        return st.none()
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return strategy_for(args[0], ids, name, depth)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy_for(a, ids, name, depth + 1) for a in args])
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (list, typing.List, tuple):  # noqa: UP006
        return st.lists(strategy_for(args[0] if args else Any, ids, name, depth + 1), max_size=3)
    if origin in (dict, typing.Dict):  # noqa: UP006
        return st.dictionaries(st.text(max_size=10), json_values, max_size=3)
    if tp is Any or tp is object:
        return json_values
    if tp is type(None):
        return st.none()
    if tp is str:
        if name.endswith("_id") or name in ("after", "id"):
            return ids
        return st.text(max_size=60) | st.sampled_from(["", "x" * 5000, "\x00\u202e\U0001f600"])
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(min_value=-5, max_value=10_000) | st.integers()
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if tp is datetime:
        return st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        fields = {
            field: strategy_for(_annotation(tp, field), ids, field, depth + 1)
            for field in tp.model_fields
        }
        return st.fixed_dictionaries(
            {k: v for k, v in fields.items() if tp.model_fields[k].is_required()},
            optional={k: v for k, v in fields.items() if not tp.model_fields[k].is_required()},
        )
    return json_values


def _stream_events(response: httpx.Response) -> list[dict]:
    return [
        json.loads(line[6:])
        # SSE lines end at \n only: str.splitlines() also splits inside JSON strings that
        # hold U+2028, \x1c or \x85, which JSON allows unescaped.
        for line in response.text.split("\n")
        if line.startswith("data: ")
    ]


def _snapshot(db_path, thread_id: str) -> tuple:
    with sqlite3.connect(db_path) as conn:
        thread = conn.execute(
            "SELECT title, status, metadata, user_id FROM chat_thread WHERE id = ?", (thread_id,)
        ).fetchone()
        items = conn.execute(
            "SELECT id, data FROM chat_item WHERE thread_id = ? ORDER BY seq", (thread_id,)
        ).fetchall()
    return thread, items


def _check_response(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:500])
    if r.headers.get("content-type", "").startswith("text/event-stream"):
        for event in _stream_events(r):
            # stream.error is the SDK's "an exception escaped" event: a 500 in disguise.
            assert not (event["type"] == "error" and event.get("code") == "stream.error"), event
    elif r.status_code >= 400:
        body = r.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body


def _all_stored_items_load(db_path) -> None:
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        for (data,) in conn.execute("SELECT data FROM chat_item"):
            ITEMS.validate_json(data)
        for status, title in conn.execute("SELECT status, title FROM chat_thread"):
            STATUS.validate_json(status)
            assert title is None or len(title) <= 255
        orphans = conn.execute(
            "SELECT count(*) FROM chat_item WHERE thread_id NOT IN (SELECT id FROM chat_thread)"
        ).fetchone()[0]
        assert orphans == 0


@pytest.fixture
def world(chat, settings):
    """One thread of ours, one of another user's, and their ids."""
    with httpx.Client(base_url=chat.url, headers=chat.headers(), timeout=30) as mine:
        r = mine.post("/api/chatkit", content=json.dumps(create_thread("my first message")))
        mine_tid = _stream_events(r)[0]["thread"]["id"]
    with httpx.Client(base_url=chat.url, headers=chat.headers("intruder"), timeout=30) as other:
        r = other.post("/api/chatkit", content=json.dumps(create_thread("private to intruder")))
        other_tid = _stream_events(r)[0]["thread"]["id"]
    with sqlite3.connect(settings.sqlite_path) as conn:
        mine_item = conn.execute(
            "SELECT id FROM chat_item WHERE thread_id = ? ORDER BY seq LIMIT 1", (mine_tid,)
        ).fetchone()[0]
        other_item = conn.execute(
            "SELECT id FROM chat_item WHERE thread_id = ? ORDER BY seq LIMIT 1", (other_tid,)
        ).fetchone()[0]
    return {"mine": mine_tid, "mine_item": mine_item, "other": other_tid,
            "other_item": other_item}  # fmt: skip


FUZZ_SETTINGS = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def test_sdk_shaped_requests(chat, gemini, settings, world):
    ids = st.sampled_from(
        [world["mine"], world["mine_item"], world["other"], world["other_item"], "thr_nope", ""]
    ) | st.text(max_size=20)
    requests = st.one_of(
        [
            st.fixed_dictionaries(
                {
                    "type": st.just(model.model_fields["type"].default),
                    "params": strategy_for(_annotation(model, "params"), ids, "params"),
                },
                optional={"metadata": st.dictionaries(st.text(max_size=5), json_values)},
            )
            for model in REQUEST_TYPES
        ]
    )
    before = _snapshot(settings.sqlite_path, world["other"])
    seen: dict[str, int] = {}
    statuses: dict[int, int] = {}

    with (
        HealthWatch(chat.url) as health,
        httpx.Client(base_url=chat.url, headers=chat.headers(), timeout=30) as client,
    ):

        @given(request=requests)
        @FUZZ_SETTINGS
        def run(request):
            seen[request["type"]] = seen.get(request["type"], 0) + 1
            r = client.post("/api/chatkit", content=json.dumps(request))
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            _check_response(r)
            assert world["other"] not in r.text or request["type"] == "threads.create"
            assert "private to intruder" not in r.text
            assert _snapshot(settings.sqlite_path, world["other"]) == before

        run()
    health.check()
    assert len(seen) >= 12, seen  # most request types were tried
    _all_stored_items_load(settings.sqlite_path)
    assert_every_row_acceptable(settings.sqlite_path)


def test_random_json_and_bytes(chat, gemini, settings, world):
    before = _snapshot(settings.sqlite_path, world["other"])
    bodies = (
        json_values.map(lambda v: json.dumps(v).encode())
        | st.fixed_dictionaries({"type": st.text(max_size=30), "params": json_values}).map(
            lambda v: json.dumps(v).encode()
        )
        | st.binary(max_size=2000)
        | st.sampled_from([b"", b"{", b"\xff\xfe", b'{"type": "threads.create"}', b"[]" * 500])
    )
    with (
        HealthWatch(chat.url) as health,
        httpx.Client(base_url=chat.url, headers=chat.headers(), timeout=30) as client,
    ):

        @given(body=bodies)
        @FUZZ_SETTINGS
        def run(body):
            _check_response(client.post("/api/chatkit", content=body))

        run()
    health.check()
    assert _snapshot(settings.sqlite_path, world["other"]) == before
    _all_stored_items_load(settings.sqlite_path)


def test_huge_and_odd_messages_are_stored_faithfully_or_refused(chat, gemini, settings):
    texts = ["x" * 200_000, "\u202eRTL override\u202c مرحبا שלום", "emoji 👩‍👩‍👧‍👦🏳️‍🌈",
             "nul\x00byte", "'; DROP TABLE chat_item; --", "<script>alert(1)</script>"]  # fmt: skip
    with httpx.Client(base_url=chat.url, headers=chat.headers(), timeout=30) as client:
        for text in texts:
            body = {"type": "threads.create", "params": {"input": user_input(text)}}
            r = client.post("/api/chatkit", content=json.dumps(body))
            _check_response(r)
            if r.status_code == 200:
                stored = _stream_events(r)[1]["item"]["content"][0]["text"]
                assert stored == text
            else:
                assert r.status_code == 413  # the body size limit, not a crash
    _all_stored_items_load(settings.sqlite_path)
