"""Task schemas: TaskBase / TaskCreate / TaskUpdate / TaskPublic / Task (the table)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from sqlalchemy import JSON, Column, ForeignKey, Index, String, text
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from app.db.types import UTCDateTime, utcnow
from app.lists.models import ORDER_KEY_TYPE, inbox_id
from app.tasks.recurrence import clean_recurrence

TITLE_MAX = 255
DESCRIPTION_MAX = 2000
TAG_MAX = 40
TAGS_MAX = 20
TASK_ID_MAX = 36
OFFSET_MAX = 1_000_000_000
# Dates a task may carry: any real plan fits, and every time zone's shift of them stays
# inside what Python's datetime and both engines represent (0001-01-01T00:30+01:00 did not).
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(9999, 12, 30)
# The id shape of every stored row (uuids, ChatKit's `thr_…`/`msg_…` ids): no spaces,
# quotes or control characters, short enough for an index.
_ID_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Tags are matched inside their JSON text (portable across SQLite and PostgreSQL),
# so they may not contain the characters JSON escapes.
_TAG_FORBIDDEN = re.compile(r'["\\\x00-\x1f\x7f,]')


class Priority(StrEnum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"


# Written as literal SQL (not bound parameters) so that ORDER BY matches the expression
# index ix_task_smart exactly, on SQLite and PostgreSQL alike.
PRIORITY_RANK_SQL = (
    "CASE priority WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END"
)


def check_id(value: Any, *, what: str = "id", max_length: int = TASK_ID_MAX) -> str:
    """A stored row's id: a short string of letters, digits and `_ . : -`."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    if len(value) > max_length:
        raise ValueError(f"{what} must be at most {max_length} characters")
    if not _ID_SHAPE.fullmatch(value):
        raise ValueError(f"{what} may only contain letters, digits and _ . : -")
    return value


def check_date_range(value: Due, what: str = "due") -> Due:
    day = value.date() if isinstance(value, datetime) else value
    if not DATE_MIN <= day <= DATE_MAX:
        raise ValueError(
            f"{what} must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}"
        )
    return value


def clean_title(value: str) -> str:
    value = CONTROL_CHARS.sub("", value).strip()
    if not value:
        raise ValueError("title must not be empty")
    if len(value) > TITLE_MAX:
        raise ValueError(f"title must be at most {TITLE_MAX} characters (got {len(value)})")
    return value


def clean_description(value: str | None) -> str:
    value = CONTROL_CHARS.sub("", value or "").strip()
    if len(value) > DESCRIPTION_MAX:
        raise ValueError(
            f"description must be at most {DESCRIPTION_MAX} characters (got {len(value)})"
        )
    return value


def clean_tags(value: list[str] | None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("tags must be a list of strings")
    tags: list[str] = []
    for raw in value:
        if not isinstance(raw, str):
            raise ValueError("tags must be a list of strings")
        tag = raw.strip().lstrip("#").strip().lower()
        if not tag:
            continue
        if len(tag) > TAG_MAX:
            raise ValueError(f"each tag must be at most {TAG_MAX} characters")
        if _TAG_FORBIDDEN.search(tag):
            raise ValueError(
                "tags may not contain quotes, backslashes, commas or control characters"
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise ValueError(f"a task may have at most {TAGS_MAX} tags")
    return tags


Due = date | datetime
ID_MAX = 36
View = Literal["today", "upcoming"]


def clean_id(value: Any, name: str) -> str | None:
    """A task or list id as given (stripped); empty means none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string id")
    value = value.strip()
    if not value:
        return None
    if len(value) > ID_MAX or CONTROL_CHARS.search(value):
        raise ValueError(f"{name} must be an id of at most {ID_MAX} characters")
    return value


def parse_due(value: Any) -> Due | None:
    """Accept a date (all-day) or a timezone-aware datetime; datetimes become UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed: Due = value
    elif isinstance(value, date):
        return check_date_range(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) > 64:
                raise ValueError
            parsed = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                "due must be a date (YYYY-MM-DD) or a date-time with a time zone "
                "(YYYY-MM-DDTHH:MM:SS+00:00)"
            ) from None
    else:
        raise ValueError("due must be a date or a date-time string")
    if not isinstance(parsed, datetime):
        return check_date_range(parsed)
    if parsed.tzinfo is None:
        raise ValueError("due date-time must include a time zone, e.g. 2026-05-01T09:00:00Z")
    return check_date_range(to_utc(parsed))


def to_utc(value: datetime, what: str = "due") -> datetime:
    """An aware datetime in UTC; a shift past year 1 or 9999 is a ValueError (it was an
    OverflowError, which nothing caught: a 500)."""
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(
            f"{what} must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}"
        ) from None


def parse_stored_datetime(value: Any, what: str) -> datetime | None:
    """A timestamp as an export or a synced row carries it: ISO 8601 text (a naive one, as
    SQLite stores it, is UTC) or a datetime; within DATE_MIN..DATE_MAX."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > 64:
            raise ValueError(f"{what} is not a date-time")
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{what} is not an ISO 8601 date-time") from None
    if not isinstance(value, datetime):
        raise ValueError(f"{what} must be a date-time string")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return check_date_range(to_utc(value, what), what)  # type: ignore[return-value]


# Reminders may be set relative to the due time, up to four weeks before it.
REMIND_BEFORE_MAX = 4 * 7 * 24 * 60


def parse_remind_at(value: Any) -> datetime | None:
    """A reminder is an instant: a date-time with its offset (stored as UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            if len(value) > 64:
                raise ValueError
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                "remind_at must be a date-time with a time zone, e.g. 2026-05-01T09:00:00+02:00"
            ) from None
    else:
        raise ValueError("remind_at must be a date-time string")
    if parsed.tzinfo is None:
        raise ValueError("remind_at must include a time zone, e.g. 2026-05-01T09:00:00Z")
    return check_date_range(to_utc(parsed, "remind_at"), "remind_at")  # type: ignore[return-value]


def clean_remind_before(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("remind_before_minutes must be a whole number of minutes")
    if not 0 <= value <= REMIND_BEFORE_MAX:
        raise ValueError(f"remind_before_minutes must be between 0 and {REMIND_BEFORE_MAX}")
    return value


def due_to_columns(due: Due | None) -> tuple[datetime | None, bool]:
    """(due_at, due_all_day): an all-day date is stored as midnight UTC of that date."""
    if due is None:
        return None, False
    if isinstance(due, datetime):
        return due.astimezone(UTC), False
    return datetime.combine(due, time(0, 0), tzinfo=UTC), True


class TaskBase(SQLModel):
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    priority: Priority = Priority.none


class _TaskFieldValidators(BaseModel):
    @field_validator("title", mode="before", check_fields=False)
    @classmethod
    def _title(cls, v: Any) -> Any:
        return clean_title(v) if isinstance(v, str) else v

    @field_validator("description", mode="before", check_fields=False)
    @classmethod
    def _description(cls, v: Any) -> Any:
        return clean_description(v) if isinstance(v, str) or v is None else v

    @field_validator("tags", mode="before", check_fields=False)
    @classmethod
    def _tags(cls, v: Any) -> Any:
        return clean_tags(v)

    @field_validator("due", mode="before", check_fields=False)
    @classmethod
    def _due(cls, v: Any) -> Any:
        return parse_due(v)

    @field_validator("list_id", "parent_id", mode="before", check_fields=False)
    @classmethod
    def _ids(cls, v: Any, info: ValidationInfo) -> Any:
        return clean_id(v, info.field_name or "id")

    @field_validator("recurrence", mode="before", check_fields=False)
    @classmethod
    def _recurrence(cls, v: Any) -> Any:
        return clean_recurrence(v)

    @field_validator("remind_at", mode="before", check_fields=False)
    @classmethod
    def _remind_at(cls, v: Any) -> Any:
        return parse_remind_at(v)

    @field_validator("remind_before_minutes", mode="before", check_fields=False)
    @classmethod
    def _remind_before(cls, v: Any) -> Any:
        return clean_remind_before(v)


class TaskCreate(_TaskFieldValidators, TaskBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]  # SQLModel's own type

    description: str = ""
    due: Due | None = None
    tags: list[str] = []
    completed: bool = False
    # The list it goes in (default: the Inbox; a subtask always takes its parent's list)
    # and the task it is a step of (null: top-level).
    list_id: str | None = None
    parent_id: str | None = None
    # An RRULE without "RRULE:" (e.g. FREQ=WEEKLY;BYDAY=MO), expanded in the person's zone.
    recurrence: str | None = None
    # When to notify: an instant, or minutes before the due time (moves with the due).
    remind_at: datetime | None = None
    remind_before_minutes: int | None = None


class TaskUpdate(_TaskFieldValidators, SQLModel):
    """Any subset of the writable fields; `null` clears `due`."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]  # SQLModel's own type

    title: str | None = None
    description: str | None = None
    priority: Priority | None = None
    due: Due | None = None
    tags: list[str] | None = None
    completed: bool | None = None
    list_id: str | None = None
    parent_id: str | None = None  # null: make it top-level
    recurrence: str | None = None
    remind_at: datetime | None = None
    remind_before_minutes: int | None = None

    @field_validator("title", mode="after")
    @classmethod
    def _title_not_null(cls, v: str | None) -> str | None:
        if v is None:
            raise ValueError("title must not be null")
        return v


class Task(TaskBase, table=True):
    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_user_completed_created", "user_id", "completed", "created_at"),
        Index("ix_task_user_due", "user_id", "due_at"),
        Index("ix_task_user_completed_priority", "user_id", "completed", "priority"),
        # The default ("smart") order: open first, soonest due, undated last, most
        # important, newest. An index in exactly that order makes a page an index walk.
        Index(
            "ix_task_smart",
            "user_id",
            "completed",
            text("(due_at IS NULL)"),
            "due_at",
            text(f"({PRIORITY_RANK_SQL}) DESC"),
            text("created_at DESC"),
            "id",
        ),
        Index("ix_task_user_updated", "user_id", "updated_at"),
        # A list's page in manual order, and a parent's steps in order (app/lists).
        # Trailing `completed`: a list's open/done count never reads the rows.
        Index(
            "ix_task_list_order",
            "user_id",
            "list_id",
            "parent_id",
            "position",
            "id",
            "completed",
        ),
        Index("ix_task_parent_order", "parent_id", "position", "id", "completed"),
        # Today / Upcoming: open tasks by due date; counts are index-only.
        Index("ix_task_open_due", "user_id", "completed", "due_at", "due_all_day"),
        # A task's state by id without reading the row: counts driven from task_tag.
        Index("ix_task_id_completed", "id", "completed"),
        Index("ix_task_user_remind", "user_id", "completed", "remind_at"),
    )

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    # Stored as text on both engines (no native PostgreSQL enum to migrate later).
    priority: Priority = Field(
        default=Priority.none,
        sa_type=SAEnum(Priority, name="priority", native_enum=False, length=6),
        nullable=False,
    )
    user_id: str = Field(max_length=64, nullable=False)
    completed: bool = Field(default=False, nullable=False)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_all_day: bool = Field(default=False, nullable=False)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # No foreign keys: sync may deliver a task before its list or parent, and a list or
    # parent deleted on another device leaves rows that app/lists/ordering.repair fixes.
    list_id: str | None = Field(default=None, max_length=ID_MAX)
    parent_id: str | None = Field(default=None, max_length=ID_MAX)
    # Fractional-index order key among its siblings (same list and parent).
    position: str = Field(default="", sa_type=ORDER_KEY_TYPE, nullable=False)
    recurrence: str | None = Field(default=None, max_length=300)
    remind_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    remind_before_minutes: int | None = Field(default=None)
    # The remind_at value a notification was shown for (a reminder is pending while they
    # differ); synced, so a reminder shown on one device is not caught up on another.
    reminded_for: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The series' local time of day when the current due was moved out of a DST gap.
    recurrence_time: str | None = Field(default=None, max_length=8)
    # The last time a recurring task was done (completing it moves it to its next date).
    last_completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def due(self) -> Due | None:
        if self.due_at is None:
            return None
        return self.due_at.date() if self.due_all_day else self.due_at


# A task's own data, besides its id and owner: what sync merges field by field and what an
# undo restores. Kept equal to the table by tests/test_tasks_service.py.
TASK_DATA_COLUMNS: tuple[str, ...] = (
    "title",
    "description",
    "priority",
    "completed",
    "completed_at",
    "due_at",
    "due_all_day",
    "tags",
    "created_at",
    "updated_at",
    "list_id",
    "parent_id",
    "position",
    "recurrence",
    "remind_at",
    "remind_before_minutes",
    "reminded_for",
    "recurrence_time",
    "last_completed_at",
)


class TaskRecord(BaseModel):
    """A whole stored task as an import or another device hands it in, checked by the same
    rules as TaskCreate (one place: a new task column gets one field here).

    Accepts what a row holds on SQLite too (naive UTC timestamps, tags as JSON text,
    0/1 for booleans). Unknown keys are ignored (a newer export's fields).
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    title: str
    description: str = ""
    priority: Priority = Priority.none
    completed: bool = False
    completed_at: datetime | None = None
    due_at: datetime | None = None
    due_all_day: bool = False
    tags: list[str] = []
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Reminders and repeats (older exports have none of these).
    recurrence: str | None = None
    remind_at: datetime | None = None
    remind_before_minutes: int | None = None
    reminded_for: datetime | None = None
    recurrence_time: str | None = None
    last_completed_at: datetime | None = None
    # Lists and steps (older exports have none: the Inbox, top-level, placed last).
    list_id: str | None = None
    parent_id: str | None = None
    position: Annotated[str, Field(max_length=64)] = ""

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str:
        return check_id(v)

    @field_validator("list_id", "parent_id", mode="before")
    @classmethod
    def _ref_ids(cls, v: Any, info: ValidationInfo) -> Any:
        return clean_id(v, info.field_name or "id")

    @field_validator("position", mode="before")
    @classmethod
    def _position(cls, v: Any) -> Any:
        return "" if v is None else v

    @field_validator("recurrence", mode="before")
    @classmethod
    def _recurrence(cls, v: Any) -> str | None:
        return clean_recurrence(v)

    @field_validator("remind_before_minutes", mode="before")
    @classmethod
    def _remind_before(cls, v: Any) -> int | None:
        return clean_remind_before(v)

    @field_validator("recurrence_time", mode="before")
    @classmethod
    def _recurrence_time(cls, v: Any) -> str | None:
        if v is None:
            return None
        if not isinstance(v, str) or not re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", v):
            raise ValueError("recurrence_time must be HH:MM:SS")
        return v

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, v: Any) -> str:
        if not isinstance(v, str):
            raise ValueError("title must be a string")
        return clean_title(v)

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, v: Any) -> str:
        if v is not None and not isinstance(v, str):
            raise ValueError("description must be a string")
        return clean_description(v)

    @field_validator("completed", "due_all_day", mode="before")
    @classmethod
    def _flag(cls, v: Any) -> bool:
        if v in (0, 1, None):  # SQLite's booleans; True/False are 1/0 too
            return bool(v)
        raise ValueError("must be true or false")

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> list[str]:
        if isinstance(v, str):  # a JSON column as SQLite stores it
            try:
                v = json.loads(v)
            except ValueError:
                raise ValueError("tags must be a list of strings") from None
        return clean_tags(v)

    @field_validator(
        "completed_at",
        "due_at",
        "created_at",
        "updated_at",
        "remind_at",
        "reminded_for",
        "last_completed_at",
        mode="before",
    )
    @classmethod
    def _when(cls, v: Any, info: ValidationInfo) -> datetime | None:
        return parse_stored_datetime(v, info.field_name or "date")

    def columns(self) -> dict[str, Any]:
        """The task's data columns (TASK_DATA_COLUMNS) with these values."""
        return {name: getattr(self, name) for name in TASK_DATA_COLUMNS}


def record_problem(model: type[BaseModel], values: dict[str, Any]) -> str | None:
    """Why `values` (a row as stored) is not something the app would have stored itself,
    or None. A value the checks would have to clean (strip, lower-case, de-duplicate) is a
    problem too: a synced row must stay byte-for-byte the same on every device."""
    try:
        record = model.model_validate(values)
    except ValidationError as exc:
        return validation_message(exc)
    for name, value in values.items():
        if name in _CLEANED and value is not None:
            kept = getattr(record, name, value)
            if name == "tags" and isinstance(value, str):
                value = json.loads(value)  # JSON text as stored; it parsed above
            if kept != value:
                return f"{name}: not in the form TaskChat stores"
    return None


_CLEANED = frozenset({"title", "description", "tags", "id", "thread_id", "type"})


def validation_message(exc: ValidationError) -> str:
    """The first problem of a pydantic error, in one short line."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
    where = ".".join(str(p) for p in first.get("loc", ())) or "value"
    return f"{where}: {str(first.get('msg', 'invalid')).removeprefix('Value error, ')}"[:200]


class TaskTag(SQLModel, table=True):
    """One row per (task, tag): an index for the tag filter; Task.tags stays the truth."""

    __tablename__ = "task_tag"
    __table_args__ = (Index("ix_task_tag_user_tag", "user_id", "tag", "task_id"),)

    task_id: str = Field(
        sa_column=Column(String(36), ForeignKey("task.id", ondelete="CASCADE"), primary_key=True)
    )
    tag: str = Field(primary_key=True, max_length=TAG_MAX)
    user_id: str = Field(max_length=64, nullable=False)


class TaskSource(BaseModel):
    """The chat thread (and item) that last created or changed a task (app/search/links.py)."""

    thread_id: str
    thread_title: str | None = None
    item_id: str | None = None


class TaskPublic(TaskBase):
    id: str
    completed: bool
    completed_at: datetime | None
    due: Due | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    list_id: str
    parent_id: str | None = None
    position: str = ""
    # Progress of its steps ("2/5"), filled by the service for pages and single tasks.
    subtasks_total: int = 0
    subtasks_done: int = 0
    recurrence: str | None = None
    remind_at: datetime | None = None
    remind_before_minutes: int | None = None
    last_completed_at: datetime | None = None
    # Filled by the REST routes (app.search.links.with_sources); null when no chat did it.
    source: TaskSource | None = None

    @classmethod
    def from_row(cls, task: Task) -> TaskPublic:
        return cls(
            id=task.id,
            title=task.title,
            description=task.description,
            priority=task.priority,
            completed=task.completed,
            completed_at=task.completed_at,
            due=task.due,
            tags=list(task.tags or []),
            created_at=task.created_at,
            updated_at=task.updated_at,
            list_id=task.list_id or inbox_id(task.user_id),
            parent_id=task.parent_id,
            position=task.position or "",
            recurrence=task.recurrence,
            remind_at=task.remind_at,
            remind_before_minutes=task.remind_before_minutes,
            last_completed_at=task.last_completed_at,
        )


SortKey = Literal[
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "due",
    "-due",
    "priority",
    "-priority",
    "title",
    "-title",
    "smart",
    "position",
]


class TaskQuery(BaseModel):
    """Filters, sort and page for listing tasks (REST query string and chat tool)."""

    model_config = ConfigDict(extra="forbid")

    completed: bool | None = None
    priority: Priority | None = None
    tag: str | None = None
    due_before: Due | None = None
    due_after: Due | None = None
    q: Annotated[str | None, Field(max_length=200)] = None
    # Open tasks whose reminder falls before / at or after these instants.
    remind_before: datetime | None = None
    remind_after: datetime | None = None
    recurring: bool | None = None
    sort: SortKey = "smart"
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    # Bounded: SQLite's OFFSET is a 64-bit integer (2**63 was an OverflowError, a 500).
    offset: Annotated[int, Field(ge=0, le=OFFSET_MAX)] = 0
    list_id: str | None = None
    # A task id: its steps; "null" (or "none"): top-level tasks only.
    parent_id: str | None = None
    # today: overdue and due today; upcoming: due after today (both open only, in the
    # person's time zone).
    view: View | None = None

    @field_validator("list_id", mode="before")
    @classmethod
    def _list_id(cls, v: Any) -> Any:
        return clean_id(v, "list_id")

    @field_validator("parent_id", mode="before")
    @classmethod
    def _parent_id(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().lower() in ("null", "none"):
            return "null"
        return clean_id(v, "parent_id")

    @field_validator("due_before", "due_after", mode="before")
    @classmethod
    def _due(cls, v: Any) -> Any:
        return parse_due(v)

    @field_validator("remind_before", "remind_after", mode="before")
    @classmethod
    def _remind(cls, v: Any) -> Any:
        return parse_remind_at(v)

    @field_validator("tag", mode="before")
    @classmethod
    def _tag(cls, v: Any) -> Any:
        if v is None or v == "":
            return None
        tags = clean_tags([v])
        return tags[0] if tags else None


class TaskPage(BaseModel):
    items: list[TaskPublic]
    total: int


class BulkResult(BaseModel):
    """Outcome of a bulk operation: what changed and which ids were not found."""

    succeeded: list[str]
    not_found: list[str]
