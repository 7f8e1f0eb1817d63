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

Secrets never leave: only database rows are exported (no config, keyring or profile),
and strings are passed through the credential patterns of app/security/redact.py plus an
exact match on the Gemini key this install holds.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.chat.models import ChatItem, ChatThread
from app.config import Settings
from app.db.types import utcnow
from app.errors import InvalidInput
from app.lists.models import ListCreate, TaskList, inbox_id
from app.search.links import TaskLink
from app.security.keystore import load_gemini_key
from app.tasks.models import Priority, Task, TaskTag

FORMAT = "taskchat-export"
VERSION = 1
JSON_NAME = "export.json"
MAX_IMPORT_BYTES = 200 * 1024 * 1024
# An upload to POST /api/import (the CLI reads files of up to MAX_IMPORT_BYTES).
IMPORT_MAX_BYTES = 64 * 1024 * 1024

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


def load_payload(raw: bytes) -> dict[str, Any]:
    """The export dict from a zip (its export.json) or a JSON document."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidInput("The file is too large to import.")
    if raw[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                info = zf.getinfo(JSON_NAME)
                if info.file_size > MAX_IMPORT_BYTES:
                    raise InvalidInput("The export inside the zip is too large.")
                raw = zf.read(info)
        except (KeyError, zipfile.BadZipFile):
            raise InvalidInput(f"Not a TaskChat export: the zip has no {JSON_NAME}.") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("Not a TaskChat export: the file is not JSON.") from None
    validate(data)
    return data


def validate(data: Any) -> None:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(f'Not a TaskChat export (no "format": "{FORMAT}").')
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION or version < 1:
        raise InvalidInput(
            f"This export has version {version!r}; this TaskChat reads version {VERSION}."
        )
    for key in ("lists", "tasks", "threads", "links"):
        if not isinstance(data.get(key, []), list):
            raise InvalidInput(f'"{key}" must be a list.')


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
    skipped: int = 0  # ids that belong to another user

    @property
    def changed(self) -> int:
        return (
            sum(self.inserted.values())
            + sum(self.updated.values())
            + self.lists["inserted"]
            + self.lists["updated"]
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "lists": self.lists,
            "skipped": self.skipped,
        }


def _apply_task(row: Task, t: dict[str, Any]) -> None:
    row.title = str(t["title"])[:255]
    row.description = str(t.get("description") or "")[:2000]
    row.priority = Priority(t.get("priority") or "none")
    row.completed = bool(t.get("completed"))
    row.completed_at = _dt(t.get("completed_at"))
    row.due_at = _dt(t.get("due_at"))
    row.due_all_day = bool(t.get("due_all_day"))
    row.tags = [str(x) for x in t.get("tags") or []]
    row.created_at = _dt(t.get("created_at")) or utcnow()
    row.updated_at = _dt(t.get("updated_at")) or row.created_at
    # Missing (an export from before lists): the Inbox, placed last (app/lists/ordering.py).
    row.list_id = _ref(t.get("list_id"))
    row.parent_id = _ref(t.get("parent_id"))
    row.position = str(t.get("position") or "")[:64]


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
            report.skipped += 1
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


async def _import_tasks(
    session: AsyncSession,
    user_id: str,
    tasks: list[dict[str, Any]],
    report: ImportReport,
    tick,
    remap: dict[str, str],
) -> None:
    for t in tasks:
        tick()
        if t.get("list_id") in remap:
            t = {**t, "list_id": remap[t["list_id"]]}
        row = await session.get(Task, t["id"])
        if row is not None and row.user_id != user_id:
            report.skipped += 1
            continue
        if row is None:
            row = Task(id=str(t["id"]), user_id=user_id, title="x")
            _apply_task(row, t)
            session.add(row)
            await session.flush()
            session.add_all(TaskTag(task_id=row.id, user_id=user_id, tag=g) for g in row.tags)
            report.inserted["tasks"] += 1
        elif (_dt(t.get("updated_at")) or datetime.min.replace(tzinfo=UTC)) > row.updated_at:
            _apply_task(row, t)
            session.add(row)
            await session.exec(delete(TaskTag).where(col(TaskTag.task_id) == row.id))
            await session.flush()
            session.add_all(TaskTag(task_id=row.id, user_id=user_id, tag=g) for g in row.tags)
            report.updated["tasks"] += 1
        else:
            report.unchanged["tasks"] += 1


async def _import_threads(
    session: AsyncSession, user_id: str, threads: list[dict[str, Any]], report: ImportReport, tick
) -> None:
    for th in threads:
        tick()
        row = await session.get(ChatThread, th["id"])
        if row is not None and row.user_id != user_id:
            report.skipped += 1
            continue
        incoming = _dt(th.get("updated_at")) or utcnow()
        newer = row is None or incoming > row.updated_at
        if row is None:
            row = ChatThread(id=str(th["id"]), user_id=user_id)
            report.inserted["threads"] += 1
        elif newer:
            report.updated["threads"] += 1
        else:
            report.unchanged["threads"] += 1
        if newer:
            row.title = th.get("title")
            row.status = th.get("status") or {}
            row.meta = th.get("metadata") or {}
            row.created_at = _dt(th.get("created_at")) or incoming
            row.updated_at = incoming
            session.add(row)
            await session.flush()
        last = (
            await session.exec(select(func.max(ChatItem.seq)).where(ChatItem.thread_id == row.id))
        ).one() or 0
        for item in th.get("items") or []:
            existing = await session.get(ChatItem, item["id"])
            if existing is not None and (
                existing.user_id != user_id or existing.thread_id != row.id
            ):
                report.skipped += 1
                continue
            if existing is None:
                seq = int(item.get("seq") or 0)
                if seq <= 0:
                    last += 1
                    seq = last
                session.add(
                    ChatItem(
                        id=str(item["id"]),
                        thread_id=row.id,
                        user_id=user_id,
                        type=str(item["type"]),
                        created_at=_dt(item.get("created_at")) or incoming,
                        seq=seq,
                        data=item.get("data") or {},
                    )
                )
                report.inserted["items"] += 1
            elif newer and (existing.data != item.get("data") or existing.type != item["type"]):
                existing.type = str(item["type"])
                existing.data = item.get("data") or {}
                session.add(existing)
                report.updated["items"] += 1
            else:
                report.unchanged["items"] += 1
        await session.flush()


async def _import_links(
    session: AsyncSession, user_id: str, links: list[dict[str, Any]], report: ImportReport
) -> None:
    owned_tasks = set((await session.exec(select(Task.id).where(Task.user_id == user_id))).all())
    owned_threads = set(
        (await session.exec(select(ChatThread.id).where(ChatThread.user_id == user_id))).all()
    )
    existing = {
        (link.task_id, link.thread_id, link.item_id, link.action, _iso(link.created_at))
        for link in (await session.exec(select(TaskLink).where(TaskLink.user_id == user_id))).all()
    }
    for link in links:
        created = _dt(link.get("created_at")) or utcnow()
        key = (
            link["task_id"],
            link["thread_id"],
            link.get("item_id"),
            link["action"],
            _iso(created),
        )
        if key in existing:
            report.unchanged["links"] += 1
            continue
        if link["task_id"] not in owned_tasks or link["thread_id"] not in owned_threads:
            report.skipped += 1
            continue
        session.add(
            TaskLink(
                task_id=link["task_id"],
                user_id=user_id,
                thread_id=link["thread_id"],
                item_id=link.get("item_id"),
                action=str(link["action"])[:16],
                created_at=created,
            )
        )
        existing.add(key)
        report.inserted["links"] += 1


async def import_data(
    session: AsyncSession, *, user_id: str, data: dict[str, Any], progress: Progress = _noop
) -> ImportReport:
    """Merge an export into the user's data, in one transaction."""
    validate(data)
    report = ImportReport()
    tasks, threads = data.get("tasks", []), data.get("threads", [])
    total, done = len(tasks) + len(threads), 0

    def tick() -> None:
        nonlocal done
        done += 1
        if done % 50 == 0 or done == total:
            progress("import", done, total)

    progress("import", 0, total)
    try:
        remap = await _import_lists(session, user_id, data.get("lists", []), report)
        await _import_tasks(session, user_id, tasks, report, tick, remap)
        await _import_threads(session, user_id, threads, report, tick)
        await session.flush()
        await _import_links(session, user_id, data.get("links", []), report)
        await session.commit()
    except ValidationError as exc:
        await session.rollback()
        raise InvalidInput(f"The export has an invalid list: {exc.errors()[0]['msg']}") from None
    except (KeyError, TypeError, ValueError) as exc:
        await session.rollback()
        raise InvalidInput(f"The export is damaged: {type(exc).__name__}: {exc}") from None
    except BaseException:
        await session.rollback()
        raise
    return report
