"""Export and import of one user's data: lossless versioned JSON plus readable Markdown.

JSON (`export.json`):
    {"format": "taskchat-export", "version": 1, "exported_at": ...,
     "lists": [...], "tasks": [...], "threads": [{..., "items": [...]}], "links": [...]}
(`lists` and the tasks' list_id / parent_id / position came with lists; files without
them import into the Inbox.)
Every task and thread keeps its id and all stored fields; items keep their ChatKit JSON.
Markdown: `tasks.md` and one `threads/<title>-<id>.md` per thread (read-only views).

Import merges: a new id is inserted; a known id is replaced only when the incoming
`updated_at` is newer (items follow their thread); links are added once. Importing the
same file twice changes nothing. Rows of another user with the same id are left alone.

Import trusts nothing in the file: every row passes the same checks as every other way in
(app/tasks/models.py TaskRecord, app/chat/records.py); a row that fails is skipped and
reported, never stored. Pending confirmations (thread metadata `pending_deletion`),
widgets and hidden items (recorded tool calls) are never brought back: from a file they
would be buttons and tool output nobody asked for. The file is bounded (bytes, rows,
nesting), parsed off the event loop, and written in short batches, each its own
transaction, so the app keeps answering meanwhile; a failed import can be repeated.

Secrets never leave: only database rows are exported (no config, keyring or profile),
and strings are passed through the credential patterns of app/security/redact.py plus an
exact match on the Gemini key this install holds.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, insert, update
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.chat.models import ChatItem, ChatThread
from app.chat.records import (
    ACTION_METADATA_KEYS,
    IMPORTABLE_ITEM_TYPES,
    ItemRecord,
    ThreadRecord,
)
from app.config import Settings
from app.db.types import utcnow
from app.errors import InvalidInput
from app.lists import placement
from app.lists.models import ListCreate, TaskList, inbox_id
from app.lists.ordering import key_between, last_key_stmt
from app.search import bulk as search_bulk
from app.search.links import TaskLink
from app.security.keystore import load_gemini_key
from app.sync import capture
from app.tasks.models import (
    Priority,
    Task,
    TaskRecord,
    TaskTag,
    check_id,
    parse_stored_datetime,
    validation_message,
)

FORMAT = "taskchat-export"
VERSION = 1
JSON_NAME = "export.json"
# The export.json an import reads (inside a zip or not): 100k tasks take ~35 MB. Checked
# before anything is inflated or parsed (a 204 KB zip can hold 200 MiB of JSON).
MAX_IMPORT_BYTES = 96 * 1024 * 1024
# An upload to POST /api/import (a zip, or the JSON itself).
IMPORT_MAX_BYTES = MAX_IMPORT_BYTES
MAX_TASKS = 200_000
MAX_THREADS = 20_000
MAX_ITEMS = 400_000
MAX_LINKS = 400_000
# Rows written per transaction: every request that writes (and, today, every REST read:
# its session begins IMMEDIATE) waits for at most one batch. 500 rows cost ~0.1 s of CPU
# (the full-text and sync triggers are most of it); 250 made the import ~15% slower.
BATCH = 500
# Tasks go in batches of 5,000: each commit writes every index page it touched to the WAL,
# and a batch of 2,000 random ids already touched most leaf pages of the task table's ten
# indexes (100k tasks at 2,000: 4.3 s of system time, at 5,000: 2.7 s; 1.4 s less CPU in
# all). Listing tasks reads without the write lock (app/api/deps.py), so only other
# writers wait for a batch (~0.6 s of CPU).
TASK_BATCH = 5000
# Rows per INSERT statement inside a batch: SQLAlchemy prepares a statement's parameters
# on the event loop, so 5,000 rows at once would hold every request up for ~0.1 s.
STATEMENT_ROWS = 1000
REPORTED_PROBLEMS = 20

Progress = Callable[[str, int, int], None]  # (stage, done, total)

# Credentials only (not the generic "password: …" pattern, which would eat user text).
_SECRET_PATTERNS = (
    re.compile(r"AIza[0-9A-Za-z_\-]{35}"),
    re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),
    re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"),
)
REDACTED = "[redacted]"


def known_secrets(settings: Settings) -> list[str]:
    """The secrets an export must never contain (the Gemini key, when one is set)."""
    try:
        key = load_gemini_key(settings)
    except Exception:
        key = None
    return [key] if key else []


def _noop(stage: str, done: int, total: int) -> None:
    return None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _dt(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class Scrubber:
    """Replaces credentials (and the exact secrets given) in every string of a structure."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self.secrets = sorted({s for s in secrets or [] if s and len(s) >= 8}, key=len)[::-1]

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        for pattern in _SECRET_PATTERNS:
            value = pattern.sub(REDACTED, value)
        return value

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return value


# ----------------------------------------------------------------------------- export


def task_json(t: Task) -> dict[str, Any]:
    return {
        "id": t.id,
        "title": t.title,
        "description": t.description,
        "priority": str(t.priority.value if isinstance(t.priority, Priority) else t.priority),
        "completed": bool(t.completed),
        "completed_at": _iso(t.completed_at),
        "due_at": _iso(t.due_at),
        "due_all_day": bool(t.due_all_day),
        "tags": list(t.tags or []),
        "created_at": _iso(t.created_at),
        "updated_at": _iso(t.updated_at),
        "recurrence": t.recurrence,
        "remind_at": _iso(t.remind_at),
        "remind_before_minutes": t.remind_before_minutes,
        "reminded_for": _iso(t.reminded_for),
        "recurrence_time": t.recurrence_time,
        "last_completed_at": _iso(t.last_completed_at),
        "list_id": t.list_id,
        "parent_id": t.parent_id,
        "position": t.position,
    }


def list_json(row: TaskList) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "color": row.color,
        "emoji": row.emoji,
        "archived": bool(row.archived),
        "position": row.position,
        "is_inbox": row.id == inbox_id(row.user_id),
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def thread_json(th: ChatThread, items: list[ChatItem]) -> dict[str, Any]:
    return {
        "id": th.id,
        "title": th.title,
        "status": th.status,
        "metadata": th.meta,
        "created_at": _iso(th.created_at),
        "updated_at": _iso(th.updated_at),
        "items": [
            {
                "id": i.id,
                "type": i.type,
                "created_at": _iso(i.created_at),
                "seq": i.seq,
                "data": i.data,
            }
            for i in items
        ],
    }


def link_json(link: TaskLink) -> dict[str, Any]:
    return {
        "task_id": link.task_id,
        "thread_id": link.thread_id,
        "item_id": link.item_id,
        "action": link.action,
        "created_at": _iso(link.created_at),
    }


async def export_data(
    session: AsyncSession,
    *,
    user_id: str,
    secrets: list[str] | None = None,
    progress: Progress = _noop,
) -> dict[str, Any]:
    scrub = Scrubber(secrets)
    lists = (
        await session.exec(
            select(TaskList)
            .where(TaskList.user_id == user_id)
            .order_by(col(TaskList.position), col(TaskList.id))
        )
    ).all()
    tasks = (
        await session.exec(
            select(Task).where(Task.user_id == user_id).order_by(col(Task.created_at), col(Task.id))
        )
    ).all()
    threads = (
        await session.exec(
            select(ChatThread)
            .where(ChatThread.user_id == user_id)
            .order_by(col(ChatThread.created_at), col(ChatThread.id))
        )
    ).all()
    total = len(tasks) + len(threads)
    progress("export", 0, total)
    out_threads = []
    for n, th in enumerate(threads, start=1):
        items = (
            await session.exec(
                select(ChatItem)
                .where(ChatItem.thread_id == th.id, ChatItem.user_id == user_id)
                .order_by(col(ChatItem.created_at), col(ChatItem.seq))
            )
        ).all()
        out_threads.append(thread_json(th, list(items)))
        progress("export", len(tasks) + n, total)
    links = (
        await session.exec(
            select(TaskLink).where(TaskLink.user_id == user_id).order_by(col(TaskLink.id))
        )
    ).all()
    progress("export", total, total)
    return scrub(
        {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": _iso(utcnow()),
            "lists": [list_json(x) for x in lists],
            "tasks": [task_json(t) for t in tasks],
            "threads": out_threads,
            "links": [link_json(link) for link in links],
        }
    )


# ----------------------------------------------------------------------------- markdown


def _slug(text: str) -> str:
    slug = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-")
    return slug[:40].strip("-") or "chat"


def _item_text(data: dict[str, Any]) -> str:
    content = data.get("content")
    if not isinstance(content, list):
        return ""
    return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict)).strip()


def _md_escape_line(text: str) -> str:
    return text.replace("\r", "")


def tasks_markdown(data: dict[str, Any]) -> str:
    lines = ["# Tasks", ""]
    tasks = data["tasks"]
    if not tasks:
        lines.append("_No tasks._")
    for t in sorted(tasks, key=lambda t: (t["completed"], t["due_at"] or "~", t["created_at"])):
        meta = []
        if t["due_at"]:
            meta.append("due " + (t["due_at"][:10] if t["due_all_day"] else t["due_at"]))
        if t["priority"] != "none":
            meta.append(f"{t['priority']} priority")
        meta.extend(f"#{tag}" for tag in t["tags"])
        suffix = f" — {', '.join(meta)}" if meta else ""
        lines.append(f"- [{'x' if t['completed'] else ' '}] {t['title']}{suffix}")
        for line in (t["description"] or "").splitlines():
            lines.append(f"  > {_md_escape_line(line)}")
    return "\n".join(lines) + "\n"


def thread_markdown(thread: dict[str, Any]) -> str:
    title = thread["title"] or "Untitled conversation"
    lines = [f"# {title}", "", f"_Started {thread['created_at']}_", ""]
    for item in thread["items"]:
        who = {"user_message": "You", "assistant_message": "TaskChat"}.get(item["type"])
        if who is None:
            continue
        text = _item_text(item["data"])
        if not text:
            continue
        lines += [f"**{who}** · {item['created_at']}", "", text, ""]
    return "\n".join(lines)


def markdown_files(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield "tasks.md", tasks_markdown(data)
    for th in data["threads"]:
        name = f"threads/{_slug(th['title'] or 'chat')}-{th['id'][-8:]}.md"
        yield name, thread_markdown(th)


def export_files(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield JSON_NAME, json.dumps(data, ensure_ascii=False, indent=1)
    yield from markdown_files(data)


def zip_bytes(data: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in export_files(data):
            zf.writestr(name, body)
    return buf.getvalue()


# ----------------------------------------------------------------------------- import


def read_export_json(raw: bytes) -> bytes:
    """The export.json bytes of a zip (inflated in bounded steps) or of a JSON body."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidInput(_too_large())
    if raw[:2] != b"PK":
        return raw
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            info = zf.getinfo(JSON_NAME)
            if info.file_size > MAX_IMPORT_BYTES:
                raise InvalidInput(_too_large(info.file_size))
            out = bytearray()
            with zf.open(info) as member:  # the header may lie: count what really comes out
                while chunk := member.read(1024 * 1024):
                    out += chunk
                    if len(out) > MAX_IMPORT_BYTES:
                        raise InvalidInput(_too_large())
            return bytes(out)
    except (KeyError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError):
        raise InvalidInput(f"Not a TaskChat export: the zip has no {JSON_NAME}.") from None
    except (OSError, ValueError) as exc:  # zlib.error is an Exception subclass too
        raise InvalidInput(f"The zip is damaged ({type(exc).__name__}).") from None


def _too_large(size: int | None = None) -> str:
    got = f" ({size // (1024 * 1024)} MiB)" if size else ""
    return (
        f"The export is too large to import{got}: at most "
        f"{MAX_IMPORT_BYTES // (1024 * 1024)} MiB of JSON."
    )


def load_payload(raw: bytes) -> dict[str, Any]:
    """The export dict from a zip (its export.json) or a JSON document (bounded; blocking:
    call it in a worker thread, as the route does)."""
    text = read_export_json(raw)
    try:
        data = json.loads(text.decode("utf-8-sig"))
    except RecursionError:
        raise InvalidInput("Not a TaskChat export: the JSON is nested too deeply.") from None
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("Not a TaskChat export: the file is not JSON.") from None
    validate(data)
    return data


def validate(data: Any) -> None:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(f'Not a TaskChat export (no "format": "{FORMAT}").')
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= VERSION:
        raise InvalidInput(
            f"This export has version {str(version)[:20]}; this TaskChat reads version {VERSION}."
        )
    for key in ("lists", "tasks", "threads", "links"):
        if not isinstance(data.get(key, []), list):
            raise InvalidInput(f'"{key}" must be a list.')
    caps = {"tasks": MAX_TASKS, "threads": MAX_THREADS, "links": MAX_LINKS}
    for key, cap in caps.items():
        if len(data.get(key, [])) > cap:
            raise InvalidInput(f"The export has more than {cap:,} {key}; import it in parts.")
    items = sum(
        len(th.get("items") or [])
        if isinstance(th, dict) and isinstance(th.get("items"), list)
        else 0
        for th in data.get("threads", [])
    )
    if items > MAX_ITEMS:
        raise InvalidInput(f"The export has more than {MAX_ITEMS:,} chat items.")


@dataclass
class ImportReport:
    inserted: dict[str, int] = field(
        default_factory=lambda: {"tasks": 0, "threads": 0, "items": 0, "links": 0}
    )
    updated: dict[str, int] = field(default_factory=lambda: {"tasks": 0, "threads": 0, "items": 0})
    unchanged: dict[str, int] = field(
        default_factory=lambda: {"tasks": 0, "threads": 0, "items": 0, "links": 0}
    )
    # Lists are counted apart, so reports of exports without lists read as before.
    lists: dict[str, int] = field(
        default_factory=lambda: {"inserted": 0, "updated": 0, "unchanged": 0}
    )
    skipped: int = 0  # every row not stored: another user's ids, or refused below
    # Why rows were refused: a count per reason, and the first few rows named.
    reasons: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return (
            sum(self.inserted.values())
            + sum(self.updated.values())
            + self.lists["inserted"]
            + self.lists["updated"]
        )

    def refuse(self, kind: str, row_id: Any, reason: str) -> None:
        self.skipped += 1
        self.reasons[kind] += 1
        if len(self.problems) < REPORTED_PROBLEMS:
            shown = str(row_id)[:40] if isinstance(row_id, str | int) else "?"
            self.problems.append(f"{kind} {shown}: {reason}"[:240])

    def summary(self) -> str:
        if not self.skipped:
            return "Nothing was skipped."
        parts = ", ".join(f"{n} {kind}" for kind, n in self.reasons.most_common())
        word = "row" if self.skipped == 1 else "rows"
        return f"{self.skipped} {word} skipped: {parts}."

    def as_dict(self) -> dict[str, Any]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "lists": self.lists,
            "skipped": self.skipped,
            "skipped_reasons": dict(self.reasons),
            "problems": self.problems,
            "summary": self.summary(),
        }


def _ref(value: Any) -> str | None:
    return str(value)[:36] if value else None


async def _import_lists(
    session: AsyncSession, user_id: str, lists: list[dict[str, Any]], report: ImportReport
) -> dict[str, str]:
    """Insert or update the lists; returns ids to rewrite (the source's Inbox is this
    user's Inbox)."""
    remap: dict[str, str] = {}
    for item in lists:
        fields = ListCreate.model_validate(
            {k: item.get(k) for k in ("name", "color", "emoji", "archived") if k in item}
        )
        list_id = str(item["id"])[:36]
        if item.get("is_inbox"):
            remap[list_id] = list_id = inbox_id(user_id)
        row = await session.get(TaskList, list_id)
        if row is not None and row.user_id != user_id:
            report.refuse("lists", item.get("id"), "the id belongs to another profile")
            continue
        incoming = _dt(item.get("updated_at")) or utcnow()
        if row is None:
            row = TaskList(id=list_id, user_id=user_id, name=fields.name, position="")
            report.lists["inserted"] += 1
        elif incoming > row.updated_at:
            report.lists["updated"] += 1
        else:
            report.lists["unchanged"] += 1
            continue
        row.name, row.color, row.emoji = fields.name, fields.color, fields.emoji
        row.archived = fields.archived
        row.position = str(item.get("position") or "a0")[:64]
        row.created_at = _dt(item.get("created_at")) or incoming
        row.updated_at = incoming
        session.add(row)
    await session.flush()
    return remap


# -- checking (pure, runs in a worker thread) -------------------------------------------


@dataclass
class Prepared:
    tasks: list[dict[str, Any]]
    threads: list[tuple[dict[str, Any], list[dict[str, Any]]]]
    links: list[dict[str, Any]]


def prepare(data: dict[str, Any], report: ImportReport) -> Prepared:
    """Every row checked by its record; refused rows are counted in `report`."""
    tasks: dict[str, dict[str, Any]] = {}
    for t in data.get("tasks", []):
        if not isinstance(t, dict):
            report.refuse("tasks", None, "not an object")
            continue
        try:
            record = TaskRecord.model_validate(t)
        except ValidationError as exc:
            report.refuse("tasks", t.get("id"), validation_message(exc))
            continue
        if record.id in tasks:
            report.refuse("tasks", record.id, "the id appears twice")
            continue
        row = record.columns()
        row["created_at"] = row["created_at"] or utcnow()
        row["updated_at"] = row["updated_at"] or row["created_at"]
        tasks[record.id] = {"id": record.id, **row}
    threads: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    item_ids: set[str] = set()
    for th in data.get("threads", []):
        if not isinstance(th, dict):
            report.refuse("threads", None, "not an object")
            continue
        try:
            checked = ThreadRecord.model_validate(th)
        except ValidationError as exc:
            report.refuse("threads", th.get("id"), validation_message(exc))
            continue
        if checked.id in threads:
            report.refuse("threads", checked.id, "the id appears twice")
            continue
        meta = {k: v for k, v in checked.metadata.items() if k not in ACTION_METADATA_KEYS}
        updated = checked.updated_at or utcnow()
        thread = {
            "id": checked.id,
            "title": checked.title,
            "status": checked.status,
            "metadata": meta,
            "created_at": checked.created_at or updated,
            "updated_at": updated,
        }
        items: list[dict[str, Any]] = []
        raw_items = th.get("items") or []
        if not isinstance(raw_items, list):
            raw_items = []
            report.refuse("items", checked.id, "items must be a list")
        for it in raw_items:
            item = _prepare_item(it, checked.id, updated, report)
            if item is None:
                continue
            if item["id"] in item_ids:
                report.refuse("items", item["id"], "the id appears twice")
                continue
            item_ids.add(item["id"])
            items.append(item)
        threads[checked.id] = (thread, items)
    links = []
    for link in data.get("links", []):
        good = _prepare_link(link, report)
        if good is not None:
            links.append(good)
    return Prepared(list(tasks.values()), list(threads.values()), links)


def _prepare_item(
    it: Any, thread_id: str, updated: datetime, report: ImportReport
) -> dict[str, Any] | None:
    if not isinstance(it, dict):
        report.refuse("items", None, "not an object")
        return None
    kind = it.get("type")
    if kind not in IMPORTABLE_ITEM_TYPES:
        # Widgets and hidden items (tool calls) are never restored (see the docstring).
        label = "widgets" if kind == "widget" else "hidden or tool items"
        report.refuse(label, it.get("id"), f"{str(kind)[:32]} items are not imported")
        return None
    try:
        data = it.get("data")
        if isinstance(data, dict):  # the row's own ids are the truth, as the store writes them
            data = {**data, "id": it.get("id"), "thread_id": thread_id}
        record = ItemRecord.model_validate({**it, "thread_id": thread_id, "data": data})
        record.check_item()
    except (ValidationError, ValueError) as exc:
        reason = validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
        report.refuse("items", it.get("id"), reason)
        return None
    return {
        "id": record.id,
        "type": record.type,
        "created_at": record.created_at or updated,
        "seq": record.seq,
        "data": record.data,
    }


def _prepare_link(link: Any, report: ImportReport) -> dict[str, Any] | None:
    if not isinstance(link, dict):
        report.refuse("links", None, "not an object")
        return None
    try:
        task_id = check_id(link.get("task_id"), what="task_id")
        thread_id = check_id(link.get("thread_id"), what="thread_id", max_length=64)
        item_id = link.get("item_id")
        if item_id is not None:
            item_id = check_id(item_id, what="item_id", max_length=64)
        action = link.get("action")
        if not isinstance(action, str) or not action.isalpha() or len(action) > 16:
            raise ValueError("action must be a short word")
        created = parse_stored_datetime(link.get("created_at"), "created_at") or utcnow()
    except ValueError as exc:
        report.refuse("links", link.get("task_id"), str(exc))
        return None
    return {
        "task_id": task_id,
        "thread_id": thread_id,
        "item_id": item_id,
        "action": action,
        "created_at": created,
    }


# -- writing (short transactions) --------------------------------------------------------

TASKS = Task.__table__  # type: ignore[attr-defined]
TAGS = TaskTag.__table__  # type: ignore[attr-defined]
THREADS = ChatThread.__table__  # type: ignore[attr-defined]
ITEMS = ChatItem.__table__  # type: ignore[attr-defined]


def _batches(rows: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


async def _commit_batch(session: AsyncSession) -> None:
    await session.commit()
    await asyncio.sleep(0)  # let waiting requests run between batches


async def _import_tasks(
    session: AsyncSession,
    user_id: str,
    tasks: list[dict[str, Any]],
    report: ImportReport,
    tick,
    remap: dict[str, str],
) -> None:
    for t in tasks:
        if t.get("list_id") in remap:
            t["list_id"] = remap[t["list_id"]]
    inbox = await placement.ensure_inbox(session=session, user_id=user_id) if tasks else ""
    last_keys: dict[tuple[str, str | None], str | None] = {}

    async def place(t: dict[str, Any]) -> None:
        # Missing (an export from before lists): the Inbox, placed last among its siblings.
        if not t.get("list_id"):
            t["list_id"] = inbox
        if t.get("position"):
            return
        scope = (t["list_id"], t.get("parent_id"))
        if scope not in last_keys:
            last_keys[scope] = (await session.exec(last_key_stmt(user_id, *scope))).one()
        t["position"] = last_keys[scope] = key_between(last_keys[scope], None)

    for batch in _batches(tasks, TASK_BATCH):
        ids = [t["id"] for t in batch]
        known = {
            r.id: (r.user_id, r.updated_at)
            for r in (
                await (await session.connection()).execute(
                    core_select(TASKS.c.id, TASKS.c.user_id, TASKS.c.updated_at).where(
                        TASKS.c.id.in_(ids)
                    )
                )
            ).all()
        }
        new, newer = [], []
        for t in batch:
            have = known.get(t["id"])
            if have is None:
                new.append(t)
            elif have[0] != user_id:
                report.refuse("tasks", t["id"], "the id belongs to another profile")
            elif t["updated_at"] > have[1]:
                newer.append(t)
            else:
                report.unchanged["tasks"] += 1
        for t in new:
            await place(t)
        if new:
            # The sync triggers would write one outbox note per field of every row (19 a
            # task: most of an import's time); one whole-row note each says the same.
            # The search indexes are filled per batch too, with the insert triggers set
            # aside meanwhile (app/search/bulk.py: they cost a statement journal per row).
            conn = await session.connection()
            ids = [t["id"] for t in new]
            quiet = await conn.run_sync(capture.quiet_triggers)
            suspended = await conn.run_sync(search_bulk.suspend_insert_triggers)
            rows = [{**t, "user_id": user_id} for t in new]
            for chunk in _batches(rows, STATEMENT_ROWS):
                await conn.execute(insert(TASKS), chunk)
            if suspended:
                await conn.run_sync(search_bulk.index_new_tasks, ids, suspended)
                await conn.run_sync(search_bulk.restore_triggers, suspended)
            if quiet:
                await conn.run_sync(capture.note_new_rows, "task", user_id, ids)
                await conn.run_sync(capture.loud_triggers)
            report.inserted["tasks"] += len(new)
        for t in newer:
            # An export from before lists keeps the task's list and place here.
            values = {
                k: v
                for k, v in t.items()
                if k != "id" and not (k in ("list_id", "position") and not v)
            }
            await (await session.connection()).execute(
                update(TASKS).where(TASKS.c.id == t["id"]).values(**values)
            )
        if newer:
            await (await session.connection()).execute(
                delete(TAGS).where(TAGS.c.task_id.in_([t["id"] for t in newer]))
            )
            report.updated["tasks"] += len(newer)
        tag_rows = [
            {"task_id": t["id"], "user_id": user_id, "tag": tag}
            for t in (*new, *newer)
            for tag in t["tags"]
        ]
        for chunk in _batches(tag_rows, STATEMENT_ROWS):
            await (await session.connection()).execute(insert(TAGS), chunk)
        await _commit_batch(session)
        tick(len(batch))


async def _import_threads(
    session: AsyncSession,
    user_id: str,
    threads: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    report: ImportReport,
    tick,
) -> None:
    pending = 0
    for thread, items in threads:
        row = (
            await (await session.connection()).execute(
                core_select(THREADS.c.user_id, THREADS.c.updated_at).where(
                    THREADS.c.id == thread["id"]
                )
            )
        ).first()
        if row is not None and row.user_id != user_id:
            report.refuse("threads", thread["id"], "the id belongs to another profile")
            report.skipped += len(items)
            tick(1)
            continue
        newer = row is None or thread["updated_at"] > row.updated_at
        if row is None:
            await (await session.connection()).execute(
                insert(THREADS).values(**thread, user_id=user_id)
            )
            report.inserted["threads"] += 1
        elif newer:
            values = {k: v for k, v in thread.items() if k not in ("id", "created_at")}
            await (await session.connection()).execute(
                update(THREADS).where(THREADS.c.id == thread["id"]).values(**values)
            )
            report.updated["threads"] += 1
        else:
            report.unchanged["threads"] += 1
        await _import_items(session, user_id, thread["id"], items, newer, report)
        pending += 1 + len(items)
        if pending >= BATCH:
            await _commit_batch(session)
            pending = 0
        tick(1)
    await _commit_batch(session)


async def _import_items(
    session: AsyncSession,
    user_id: str,
    thread_id: str,
    items: list[dict[str, Any]],
    newer: bool,
    report: ImportReport,
) -> None:
    if not items:
        return
    last = (
        await (await session.connection()).execute(
            core_select(func.max(ITEMS.c.seq)).where(ITEMS.c.thread_id == thread_id)
        )
    ).scalar() or 0
    for batch in _batches(items):
        known = {
            r.id: r
            for r in (
                await (await session.connection()).execute(
                    core_select(
                        ITEMS.c.id, ITEMS.c.user_id, ITEMS.c.thread_id, ITEMS.c.type, ITEMS.c.data
                    ).where(ITEMS.c.id.in_([i["id"] for i in batch]))
                )
            ).all()
        }
        new = []
        for item in batch:
            have = known.get(item["id"])
            if have is not None and (have.user_id != user_id or have.thread_id != thread_id):
                report.refuse("items", item["id"], "the id belongs to another thread")
            elif have is None:
                seq = item["seq"]
                if seq <= 0:
                    last += 1
                    seq = last
                new.append({**item, "seq": seq, "thread_id": thread_id, "user_id": user_id})
            elif newer and (have.data != item["data"] or have.type != item["type"]):
                await (await session.connection()).execute(
                    update(ITEMS)
                    .where(ITEMS.c.id == item["id"])
                    .values(type=item["type"], data=item["data"])
                )
                report.updated["items"] += 1
            else:
                report.unchanged["items"] += 1
        if new:
            await (await session.connection()).execute(insert(ITEMS), new)
            report.inserted["items"] += len(new)


async def _import_links(
    session: AsyncSession, user_id: str, links: list[dict[str, Any]], report: ImportReport
) -> None:
    if not links:
        return
    owned_tasks = set((await session.exec(select(Task.id).where(Task.user_id == user_id))).all())
    owned_threads = set(
        (await session.exec(select(ChatThread.id).where(ChatThread.user_id == user_id))).all()
    )
    existing = {
        (link.task_id, link.thread_id, link.item_id, link.action, _iso(link.created_at))
        for link in (await session.exec(select(TaskLink).where(TaskLink.user_id == user_id))).all()
    }
    new = []
    for link in links:
        key = (
            link["task_id"],
            link["thread_id"],
            link["item_id"],
            link["action"],
            _iso(link["created_at"]),
        )
        if key in existing:
            report.unchanged["links"] += 1
            continue
        if link["task_id"] not in owned_tasks or link["thread_id"] not in owned_threads:
            report.refuse("links", link["task_id"], "its task or conversation is not yours")
            continue
        new.append(TaskLink(user_id=user_id, **link))
        existing.add(key)
    for batch in _batches(new):
        session.add_all(batch)
        await _commit_batch(session)
    report.inserted["links"] += len(new)


async def import_data(
    session: AsyncSession, *, user_id: str, data: dict[str, Any], progress: Progress = _noop
) -> ImportReport:
    """Merge an export into the user's data, in short transactions (see the docstring)."""
    validate(data)
    report = ImportReport()
    prepared = await asyncio.to_thread(prepare, data, report)
    total, done = len(prepared.tasks) + len(prepared.threads), 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        progress("import", done, total)

    progress("import", 0, total)
    try:
        try:
            remap = await _import_lists(session, user_id, data.get("lists", []), report)
        except ValidationError as exc:
            raise InvalidInput(
                f"The export has an invalid list: {exc.errors()[0]['msg']}"
            ) from None
        await _commit_batch(session)
        await _import_tasks(session, user_id, prepared.tasks, report, tick, remap)
        await _import_threads(session, user_id, prepared.threads, report, tick)
        await _import_links(session, user_id, prepared.links, report)
    except BaseException:
        await session.rollback()
        raise
    return report


# -- progress the UI can poll (GET /api/import/status) --------------------------------

_STATUS: dict[str, dict[str, Any]] = {}


def import_status(user_id: str) -> dict[str, Any]:
    return dict(_STATUS.get(user_id) or {"running": False, "stage": None, "done": 0, "total": 0})


def status_progress(user_id: str) -> Progress:
    def report(stage: str, done: int, total: int) -> None:
        _STATUS[user_id] = {"running": True, "stage": stage, "done": done, "total": total}

    return report


def finish_status(user_id: str, result: dict[str, Any] | None, error: str | None) -> None:
    last = _STATUS.get(user_id) or {"stage": None, "done": 0, "total": 0}
    _STATUS[user_id] = {**last, "running": False, "result": result, "error": error}
