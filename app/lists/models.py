"""List schemas: ListCreate / ListUpdate / ListPublic / TaskList (the table)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from app.db.types import UTCDateTime, utcnow

NAME_MAX = 80
EMOJI_MAX = 16
INBOX_NAME = "Inbox"
DEFAULT_COLOR = "#808080"
# Order keys (fractional indexing) compare byte by byte: PostgreSQL must not sort them
# with a language collation, where "a" < "B".
ORDER_KEY_TYPE = String(64).with_variant(String(64, collation="C"), "postgresql")
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Every profile's Inbox has the same id on every device, so two devices that each made
# their Inbox converge on one list when they sync.
_INBOX_NAMESPACE = uuid.UUID("6f1c7a52-3b0e-4c39-9a43-7d3c2b8e1f10")


INBOX_POSITION = "a0"
# What a device's Inbox holds when the device makes it (app/lists/ordering.inbox_insert)
# besides its timestamps: one untouched since says nothing the person chose (see
# app/sync/capture.py).
INBOX_DEFAULTS: dict[str, Any] = {
    "name": INBOX_NAME,
    "color": DEFAULT_COLOR,
    "emoji": None,
    "archived": False,
    "position": INBOX_POSITION,
}


def inbox_id(user_id: str) -> str:
    return str(uuid.uuid5(_INBOX_NAMESPACE, user_id))


def clean_name(value: str) -> str:
    value = CONTROL_CHARS.sub("", value).strip()
    if not value:
        raise ValueError("name must not be empty")
    if len(value) > NAME_MAX:
        raise ValueError(f"name must be at most {NAME_MAX} characters (got {len(value)})")
    return value


def clean_color(value: str) -> str:
    value = value.strip()
    if not _COLOR.match(value):
        raise ValueError('color must be a hex colour like "#3b82f6"')
    return value.lower()


def clean_emoji(value: str | None) -> str | None:
    if value is None:
        return None
    value = CONTROL_CHARS.sub("", value).strip()
    if not value:
        return None
    if len(value) > EMOJI_MAX or any(ch.isalnum() for ch in value):
        raise ValueError("emoji must be one emoji (no letters or digits)")
    return value


class _ListFieldValidators(BaseModel):
    @field_validator("name", mode="before", check_fields=False)
    @classmethod
    def _name(cls, v: Any) -> Any:
        return clean_name(v) if isinstance(v, str) else v

    @field_validator("color", mode="before", check_fields=False)
    @classmethod
    def _color(cls, v: Any) -> Any:
        return clean_color(v) if isinstance(v, str) else v

    @field_validator("emoji", mode="before", check_fields=False)
    @classmethod
    def _emoji(cls, v: Any) -> Any:
        return clean_emoji(v) if isinstance(v, str) else v


class ListCreate(_ListFieldValidators, SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    name: str
    color: str = DEFAULT_COLOR
    emoji: str | None = None
    archived: bool = False


class ListUpdate(_ListFieldValidators, SQLModel):
    """Any subset of the writable fields; `null` clears `emoji`."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    name: str | None = None
    color: str | None = None
    emoji: str | None = None
    archived: bool | None = None

    @field_validator("name", "color", "archived", mode="after")
    @classmethod
    def _not_null(cls, v: Any) -> Any:
        if v is None:
            raise ValueError("must not be null")
        return v


class TaskList(SQLModel, table=True):
    __tablename__ = "task_list"
    __table_args__ = (Index("ix_task_list_user_position", "user_id", "position", "id"),)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    user_id: str = Field(max_length=64, nullable=False)
    name: str = Field(max_length=NAME_MAX, nullable=False)
    color: str = Field(default=DEFAULT_COLOR, max_length=16, nullable=False)
    emoji: str | None = Field(default=None, max_length=EMOJI_MAX)
    archived: bool = Field(default=False, nullable=False)
    position: str = Field(sa_type=ORDER_KEY_TYPE, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# A list's own data besides id and owner: what sync merges field by field.
LIST_DATA_COLUMNS: tuple[str, ...] = (
    "name",
    "color",
    "emoji",
    "archived",
    "position",
    "created_at",
    "updated_at",
)


class ListPublic(BaseModel):
    id: str
    name: str
    color: str
    emoji: str | None
    archived: bool
    position: str
    is_inbox: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: TaskList) -> ListPublic:
        return cls(
            id=row.id,
            name=row.name,
            color=row.color,
            emoji=row.emoji,
            archived=row.archived,
            position=row.position,
            is_inbox=row.id == inbox_id(row.user_id),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class ListPage(BaseModel):
    items: list[ListPublic]


class ListMove(BaseModel):
    """Put a list between two others (either may be omitted: first / last)."""

    model_config = ConfigDict(extra="forbid")

    after_id: str | None = None
    before_id: str | None = None


DeleteMode = Literal["move_to_inbox", "delete_tasks"]


class ListDeleteResult(BaseModel):
    deleted: ListPublic
    tasks_moved: int
    tasks_deleted: int
    task_ids: list[str] = []  # the tasks moved or deleted, steps included
    change_id: str | None = None  # for POST /api/tasks/undo/{change_id}


class TaskMove(BaseModel):
    """Where a task goes: a list and/or a parent, and a place among its new siblings.

    `after_id`/`before_id` name the sibling it lands after/before; with neither it goes
    last. `parent_id: null` makes it top-level; leaving a field out keeps it as it is.
    """

    model_config = ConfigDict(extra="forbid")

    list_id: str | None = None
    parent_id: str | None = None
    after_id: str | None = None
    before_id: str | None = None


class BulkMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_ids: Annotated[list[str], Field(min_length=1, max_length=500)]
    list_id: str


class ListRecord(_ListFieldValidators, BaseModel):
    """A whole stored list as another device hands it in (sync), checked by the same
    rules as ListCreate. Unknown keys are ignored (a newer device's fields)."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(min_length=1, max_length=36)]
    name: str
    color: str = DEFAULT_COLOR
    emoji: str | None = None
    archived: bool = False
    position: Annotated[str, Field(max_length=64)] = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
