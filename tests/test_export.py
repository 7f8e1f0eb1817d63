"""Export / import: lossless round trip, idempotent merge (newer wins), no secrets,
Markdown views, the CLI and the HTTP endpoints."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)
from sqlalchemy import delete

from app.chat.models import ChatThread
from app.chat.store import ChatContext, SqlStore
from app.db.engine import create_sessionmaker
from app.export import service
from app.search import links
from app.tasks import service as tasks
from app.tasks.models import Task, TaskCreate, TaskQuery, TaskUpdate

USER = "user-x"
CTX = ChatContext(USER)
T0 = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def maker(db_session, storage):
    return create_sessionmaker(db_session.bind)


async def seed(maker) -> dict[str, str]:
    store = SqlStore(maker)
    async with maker() as s:
        t1 = await tasks.create_task(
            session=s,
            user_id=USER,
            data=TaskCreate(
                title="Renew passport",
                description="photo first\nthen the form",
                priority="high",
                due="2026-12-05",
                tags=["admin", "travel"],
            ),
        )
        t2 = await tasks.create_task(
            session=s,
            user_id=USER,
            data=TaskCreate(title="Call mum", due="2026-11-30T18:00:00+01:00", completed=True),
        )
    thread_id = store.generate_thread_id(CTX)
    await store.save_thread(ThreadMetadata(id=thread_id, title="Trip prep", created_at=T0), CTX)
    user_item = UserMessageItem(
        id="msg_user_1",
        thread_id=thread_id,
        created_at=T0 + timedelta(seconds=1),
        content=[UserMessageTextContent(text="add renew passport, high — ünïcødé ✓")],
        attachments=[],
        inference_options=InferenceOptions(),
    )
    await store.add_thread_item(thread_id, user_item, CTX)
    await store.add_thread_item(
        thread_id,
        AssistantMessageItem(
            id="msg_bot_1",
            thread_id=thread_id,
            created_at=T0 + timedelta(seconds=2),
            content=[AssistantMessageContent(text="Added **Renew passport**.")],
        ),
        CTX,
    )
    async with maker() as s:
        await links.record(s, user_id=USER, thread_id=thread_id, task_ids=[t1.id], action="created")
    return {"t1": t1.id, "t2": t2.id, "thread": thread_id}


async def export(maker, **kw) -> dict:
    async with maker() as s:
        data = await service.export_data(s, user_id=USER, **kw)
    data.pop("exported_at")
    return data


async def do_import(maker, data) -> service.ImportReport:
    async with maker() as s:
        return await service.import_data(s, user_id=USER, data=data)


async def wipe(maker) -> None:
    async with maker() as s:
        await s.exec(delete(Task).where(Task.user_id == USER))  # type: ignore[call-overload]
        await s.exec(delete(ChatThread).where(ChatThread.user_id == USER))  # type: ignore[call-overload]
        await s.commit()


async def test_export_wipe_import_round_trip_is_lossless(maker):
    ids = await seed(maker)
    before = await export(maker)
    assert before["format"] == "taskchat-export" and before["version"] == 1
    assert [t["title"] for t in before["tasks"]] == ["Renew passport", "Call mum"]
    [thread] = before["threads"]
    assert [i["id"] for i in thread["items"]] == ["msg_user_1", "msg_bot_1"]
    assert before["links"][0]["task_id"] == ids["t1"]
    await wipe(maker)
    assert (await export(maker))["tasks"] == []
    report = await do_import(maker, json.loads(json.dumps(before)))
    assert report.inserted == {"tasks": 2, "threads": 1, "items": 2, "links": 1}
    assert await export(maker) == before
    # Everything works on the imported rows: tag filter, search, source links.
    async with maker() as s:
        page = await tasks.list_tasks(session=s, user_id=USER, query=TaskQuery(tag="travel"))
        assert [t.id for t in page.items] == [ids["t1"]]
        src = await links.sources(s, user_id=USER, task_ids=[ids["t1"]])
        assert src[ids["t1"]].thread_title == "Trip prep"
        from app.search.service import search

        hits = (await search(session=s, user_id=USER, q="ünïcødé")).results
        assert [h.item_id for h in hits] == ["msg_user_1"]


async def test_double_import_changes_nothing(maker):
    await seed(maker)
    data = await export(maker)
    first = await do_import(maker, data)
    assert first.changed == 0  # the same rows are already here
    second = await do_import(maker, data)
    assert second.changed == 0 and second.unchanged["links"] == 1
    assert await export(maker) == data


async def test_merge_keeps_the_newer_row_and_inserts_new_ids(maker):
    ids = await seed(maker)
    data = await export(maker)
    # Locally the passport task changes after the export was taken.
    async with maker() as s:
        await tasks.update_task(
            session=s, user_id=USER, task_id=ids["t1"], data=TaskUpdate(title="Local edit")
        )
    incoming = json.loads(json.dumps(data))
    incoming["tasks"][0]["title"] = "Stale edit"  # older updated_at: must lose
    newer = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    incoming["tasks"][1].update(title="Call mum and dad", updated_at=newer)  # newer: wins
    incoming["tasks"].append({**incoming["tasks"][1], "id": "brand-new", "title": "New one"})
    incoming["threads"][0].update(title="Renamed elsewhere", updated_at=newer)
    incoming["threads"][0]["items"].append(
        {**incoming["threads"][0]["items"][1], "id": "msg_bot_2", "seq": 3}
    )
    report = await do_import(maker, incoming)
    assert report.inserted["tasks"] == 1 and report.updated["tasks"] == 1
    assert report.unchanged["tasks"] == 1
    assert report.updated["threads"] == 1 and report.inserted["items"] == 1
    after = {t["id"]: t["title"] for t in (await export(maker))["tasks"]}
    assert after == {ids["t1"]: "Local edit", ids["t2"]: "Call mum and dad", "brand-new": "New one"}
    assert (await export(maker))["threads"][0]["title"] == "Renamed elsewhere"


async def test_rows_of_another_user_are_never_touched(maker):
    ids = await seed(maker)
    data = await export(maker)
    data["tasks"][0]["updated_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    data["tasks"][0]["title"] = "hijack"
    async with maker() as s:
        report = await service.import_data(s, user_id="intruder", data=data)
    assert report.skipped >= 3
    async with maker() as s:
        assert (await s.get(Task, ids["t1"])).title == "Renew passport"  # type: ignore[union-attr]


async def test_secrets_never_in_exports(maker):
    key = "AIzaSy" + "A" * 33
    async with maker() as s:
        await tasks.create_task(
            session=s,
            user_id=USER,
            data=TaskCreate(title="my key is " + key, description="odd-key-9f8e7d6c5b"),
        )
    data = await export(maker, secrets=["odd-key-9f8e7d6c5b"])
    text = json.dumps(data)
    assert key not in text and "odd-key-9f8e7d6c5b" not in text
    assert "[redacted]" in text
    files = dict(service.export_files(data))
    assert all(key not in body for body in files.values())


async def test_markdown_views(maker):
    await seed(maker)
    files = dict(service.export_files(await export(maker)))
    assert (
        "- [ ] Renew passport — due 2026-12-05, high priority, #admin, #travel" in files["tasks.md"]
    )
    assert "  > photo first" in files["tasks.md"]
    assert "- [x] Call mum" in files["tasks.md"]
    [name] = [n for n in files if n.startswith("threads/")]
    assert name.startswith("threads/trip-prep-") and name.endswith(".md")
    body = files[name]
    assert body.startswith("# Trip prep") and "**You**" in body and "**TaskChat**" in body
    assert "Added **Renew passport**." in body


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "not JSON"),
        (b'{"format": "other"}', "Not a TaskChat export"),
        (b'{"format": "taskchat-export", "version": 99}', "version 99"),
        (b"PK\x03\x04broken", "no export.json"),
    ],
)
def test_bad_files_are_refused_clearly(raw, message):
    from app.errors import InvalidInput

    with pytest.raises(InvalidInput, match=message):
        service.load_payload(raw)


async def test_http_export_zip_and_import(app, client):
    r = await client.post("/api/tasks", json={"title": "Water the plants", "tags": ["home"]})
    task_id = r.json()["id"]
    r = await client.get("/api/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = set(zf.namelist())
        data = json.loads(zf.read("export.json"))
    assert {"export.json", "tasks.md"} <= names
    assert [t["id"] for t in data["tasks"]] == [task_id]
    assert (await client.delete(f"/api/tasks/{task_id}")).status_code == 204
    r = await client.post("/api/import", content=r.content)
    assert r.status_code == 200 and r.json()["inserted"]["tasks"] == 1
    again = await client.post("/api/import", content=json.dumps(data).encode())
    assert again.json()["inserted"]["tasks"] == 0 and again.json()["updated"]["tasks"] == 0
    assert [t["title"] for t in (await client.get("/api/tasks")).json()["items"]] == [
        "Water the plants"
    ]
    bad = await client.post("/api/import", content=b'{"format": "nope"}')
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"


def test_cli_export_and_import(tmp_path, capsys):
    from app.cli import main

    stamp = "2026-11-01T10:00:00+00:00"
    task = {
        "id": "cli-task-1",
        "title": "From the CLI",
        "description": "",
        "priority": "low",
        "completed": False,
        "completed_at": None,
        "due_at": None,
        "due_all_day": False,
        "tags": ["cli"],
        "created_at": stamp,
        "updated_at": stamp,
    }
    doc = {"format": "taskchat-export", "version": 1, "tasks": [task], "threads": [], "links": []}
    (tmp_path / "in.json").write_text(json.dumps(doc))
    assert main(["import", str(tmp_path / "in.json")]) == 0
    assert '"tasks": 1' in capsys.readouterr().out
    out = tmp_path / "dump"
    assert main(["export", "--out", str(out)]) == 0
    exported = json.loads((out / "export.json").read_text())
    # An export from before lists and reminders: the task lands in the Inbox, and keys an
    # older export lacks come back with their empty values; else the same.
    [got] = exported["tasks"]
    assert {k: got[k] for k in task} == task
    assert got["list_id"] == exported["lists"][0]["id"] and exported["lists"][0]["is_inbox"]
    assert {
        k: got[k]
        for k in (
            "recurrence",
            "remind_at",
            "remind_before_minutes",
            "reminded_for",
            "recurrence_time",
            "last_completed_at",
        )
    } == dict.fromkeys(
        (
            "recurrence",
            "remind_at",
            "remind_before_minutes",
            "reminded_for",
            "recurrence_time",
            "last_completed_at",
        )
    )
    assert "From the CLI" in (out / "tasks.md").read_text()
    assert main(["export", "--zip", "--out", str(tmp_path / "x.zip")]) == 0
    assert zipfile.is_zipfile(tmp_path / "x.zip")
    capsys.readouterr()
    assert main(["import", str(tmp_path / "x.zip")]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert main(["import", str(out)]) == 0
    assert main(["import", str(tmp_path / "missing.zip")]) == 2
    (tmp_path / "bad.json").write_text("{}")
    assert main(["import", str(tmp_path / "bad.json")]) == 1
