"""Checks for a whole stored thread or item as an import or another device hands it in."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationInfo, field_validator

from app.chat.models import ID_MAX
from app.tasks.models import CONTROL_CHARS, check_id, parse_stored_datetime

if TYPE_CHECKING:
    from chatkit.types import ThreadItem, ThreadStatus

THREAD_TITLE_MAX = 255
ITEM_TYPE_MAX = 32
# A JSON payload (thread metadata, an item's data) nested deeper than this, or larger,
# is refused: 3000 levels hit Python's recursion limit in every later reader.
JSON_DEPTH_MAX = 32
METADATA_MAX_BYTES = 64 * 1024
ITEM_DATA_MAX_BYTES = 1024 * 1024
SEQ_MAX = 2**53  # exact in JSON numbers and both engines' integers
# The item types an import brings back. Widgets (a confirmation card's buttons act on
# tasks) and hidden items (recorded tool calls go back to the model as real tool output)
# are state the app itself creates; from a file they would be actions nobody asked for.
IMPORTABLE_ITEM_TYPES = frozenset({"user_message", "assistant_message", "end_of_turn"})
# Thread metadata keys that are pending actions of this install (app/chat/confirm.py).
ACTION_METADATA_KEYS = frozenset({"pending_deletion"})


@cache
def _item_adapter() -> TypeAdapter[ThreadItem]:
    # Here, not at the top: the server imports this module at start (app/export) and
    # chatkit.types (with jinja2) costs ~0.12 s of CPU there, before /api/health answers.
    from chatkit.types import ThreadItem

    return TypeAdapter(ThreadItem)


@cache
def _status_adapter() -> TypeAdapter[ThreadStatus]:
    from chatkit.types import ThreadStatus  # not at the top: see _item_adapter

    return TypeAdapter(ThreadStatus)


def json_depth(value: Any, limit: int = JSON_DEPTH_MAX) -> int:
    """Nesting depth of a JSON value, counted without recursion (stops past `limit`)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest


def check_json_object(value: Any, what: str, max_bytes: int) -> dict[str, Any]:
    if isinstance(value, str):  # a JSON column as SQLite stores it
        if len(value) > max_bytes:
            raise ValueError(f"{what} is too large")
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise ValueError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    if json_depth(value) > JSON_DEPTH_MAX:
        raise ValueError(f"{what} is nested more than {JSON_DEPTH_MAX} levels deep")
    try:
        size = len(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError):
        raise ValueError(f"{what} is not plain JSON") from None
    if size > max_bytes:
        raise ValueError(f"{what} is larger than {max_bytes // 1024} KB")
    if "\x00" in json.dumps(value):
        raise ValueError(f"{what} contains a NUL character")
    return value


class _Stamps(BaseModel):
    @field_validator("created_at", "updated_at", mode="before", check_fields=False)
    @classmethod
    def _when(cls, v: Any, info: ValidationInfo) -> datetime | None:
        return parse_stored_datetime(v, info.field_name or "date")


class ThreadRecord(_Stamps):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    title: str | None = None
    status: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str:
        return check_id(v, what="thread id", max_length=ID_MAX)

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, v: Any) -> str | None:
        if v is None:
            return None
        if not isinstance(v, str):
            raise ValueError("title must be a string")
        if CONTROL_CHARS.search(v):
            raise ValueError("title contains control characters")
        if len(v) > THREAD_TITLE_MAX:
            raise ValueError(f"title must be at most {THREAD_TITLE_MAX} characters")
        return v

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any) -> dict[str, Any]:
        if v is None or v == "" or v == {}:
            return {}
        status = check_json_object(v, "status", 4096)
        if not status:
            return status  # read as active (app/chat/store.py)
        try:
            _status_adapter().validate_python(status)
        except ValueError:
            raise ValueError('status must be {"type": "active" | "locked" | "closed"}') from None
        return status

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, v: Any) -> dict[str, Any]:
        if v is None:
            return {}
        return check_json_object(v, "metadata", METADATA_MAX_BYTES)


class ItemRecord(_Stamps):
    model_config = ConfigDict(extra="ignore")

    id: str
    thread_id: str
    type: str
    created_at: datetime | None = None
    seq: int = 0
    data: dict[str, Any]

    @field_validator("id", "thread_id", mode="before")
    @classmethod
    def _ids(cls, v: Any, info: ValidationInfo) -> str:
        return check_id(v, what=(info.field_name or "id").replace("_", " "), max_length=ID_MAX)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> str:
        if not isinstance(v, str) or not v or len(v) > ITEM_TYPE_MAX:
            raise ValueError("type must be a short string")
        if not v.replace("_", "").isalpha() or not v.isascii():
            raise ValueError("type must be letters and underscores")
        return v

    @field_validator("seq", mode="before")
    @classmethod
    def _seq(cls, v: Any) -> int:
        if v is None:
            return 0
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < SEQ_MAX:
            raise ValueError(f"seq must be a whole number from 0 to {SEQ_MAX - 1}")
        return v

    @field_validator("data", mode="before")
    @classmethod
    def _data(cls, v: Any) -> dict[str, Any]:
        return check_json_object(v, "data", ITEM_DATA_MAX_BYTES)

    def check_item(self) -> None:
        """The data must load as the ChatKit item the row says it is (items.list would
        fail on it for good otherwise)."""
        if self.data.get("type") != self.type:
            raise ValueError("data.type does not match the item's type")
        if self.data.get("id") not in (None, self.id):
            raise ValueError("data.id does not match the item's id")
        if self.data.get("thread_id") not in (None, self.thread_id):
            raise ValueError("data.thread_id does not match the item's thread")
        stamp = self.created_at or datetime.now().astimezone()
        try:
            _item_adapter().validate_python({**self.data, "created_at": stamp})
        except ValueError as exc:
            raise ValueError(f"data is not a valid {self.type} item ({_first(exc)})") from None


def _first(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        found = errors()
        if found:
            loc = ".".join(str(p) for p in found[0].get("loc", ()))
            return f"{loc}: {found[0].get('msg', '')}"[:120]
    return str(exc)[:120]
