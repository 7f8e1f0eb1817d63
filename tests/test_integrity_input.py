"""Issue 23, findings 1-3, 7 and 8: nothing bad gets in by any door, no 500 from input,
and every file TaskChat writes is private. Each test failed before its fix."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import zipfile

import pytest

from app.export import service as export

STAMP = "2026-11-01T10:00:00+00:00"


def doc(tasks=(), threads=(), links=()) -> dict:
    return {
        "format": "taskchat-export",
        "version": 1,
        "tasks": list(tasks),
        "threads": list(threads),
        "links": list(links),
    }


def task(task_id: str = "t-1", **fields) -> dict:
    return {
        "id": task_id,
        "title": "A task",
        "description": "",
        "priority": "none",
        "completed": False,
        "completed_at": None,
        "due_at": None,
        "due_all_day": False,
        "tags": [],
        "created_at": STAMP,
        "updated_at": STAMP,
        **fields,
    }


def message(item_id: str, thread_id: str, kind: str = "user_message", **data) -> dict:
    body = {"id": item_id, "thread_id": thread_id, "type": kind, **data}
    if kind == "user_message" and "content" not in data:
        body.update(
            content=[{"type": "input_text", "text": "hello"}],
            attachments=[],
            inference_options={},
        )
    return {"id": item_id, "type": kind, "created_at": STAMP, "seq": 0, "data": body}


def rows(db_path, sql: str) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchall()


# ----------------------------------------------------------------- finding 1: import


async def test_import_never_restores_pending_deletions_widgets_or_tool_calls(client, settings):
    planted = {
        "id": "thr_planted",
        "title": "Looks harmless",
        "status": {"type": "active"},
        "metadata": {"pending_deletion": {"task_ids": ["x"], "item_id": "w1"}, "keep": 1},
        "created_at": STAMP,
        "updated_at": STAMP,
        "items": [
            message("msg_1", "thr_planted"),
            {
                "id": "w1",
                "type": "widget",
                "created_at": STAMP,
                "seq": 2,
                "data": {"id": "w1", "thread_id": "thr_planted", "type": "widget", "widget": {}},
            },
            {
                "id": "tc_1",
                "type": "hidden_context_item",
                "created_at": STAMP,
                "seq": 3,
                "data": {
                    "id": "tc_1",
                    "thread_id": "thr_planted",
                    "type": "hidden_context_item",
                    "content": {"tool_call": {"call_id": "c", "name": "delete_task"}},
                },
            },
        ],
    }
    r = await client.post("/api/import", content=json.dumps(doc(threads=[planted])).encode())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["inserted"]["items"] == 1 and body["skipped"] == 2
    assert "2 rows skipped" in body["summary"]
    [(meta,)] = rows(settings.sqlite_path, "SELECT metadata FROM chat_thread")
    assert json.loads(meta) == {"keep": 1}
    assert rows(settings.sqlite_path, "SELECT id FROM chat_item") == [("msg_1",)]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"title": "bad\x00\x1b[31m"}, None),  # cleaned: stored as "bad[31m"
        ({"title": "   "}, "title"),
        ({"tags": ["x" * 500]}, "tags"),
        ({"tags": ['a"b']}, "tags"),
        ({"id": "x" * 100_000}, "id"),
        ({"id": "has space"}, "id"),
        ({"priority": "bogus"}, "priority"),
        ({"due_at": "0001-01-01T00:30:00+01:00"}, "due_at"),
        ({"created_at": "not a date"}, "created_at"),
        ({"completed": "yes please"}, "completed"),
    ],
)
async def test_imported_tasks_pass_the_same_checks_as_rest(client, settings, bad, reason):
    r = await client.post(
        "/api/import", content=json.dumps(doc(tasks=[task("good"), task(**bad)])).encode()
    )
    assert r.status_code == 200, r.text
    body = r.json()
    stored = rows(settings.sqlite_path, "SELECT id, title, tags FROM task ORDER BY id")
    if reason is None:
        assert body["skipped"] == 0
        assert ("t-1", "bad[31m", "[]") in stored
    else:
        assert body["skipped"] == 1 and body["problems"][0].split(": ")[1].startswith(reason)
        assert [r[0] for r in stored] == ["good"]
    listing = await client.get("/api/tasks")
    assert listing.status_code == 200


async def test_duplicate_tags_links_of_wrong_shape_and_huge_seq_are_refused_not_500(client):
    thread = {
        "id": "thr_1",
        "title": "t",
        "status": {"type": "active"},
        "metadata": {},
        "created_at": STAMP,
        "updated_at": STAMP,
        "items": [{**message("msg_1", "thr_1"), "seq": 10**30}, message("msg_2", "thr_1")],
    }
    payload = doc(
        tasks=[task(tags=["a", "A", "#a"])],
        threads=[thread, {**thread, "id": "thr_2", "metadata": [1, 2], "items": []}],
        links=[1, {"task_id": "t-1", "thread_id": "thr_1", "action": "created"}],
    )
    r = await client.post("/api/import", content=json.dumps(payload).encode())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["inserted"] == {"tasks": 1, "threads": 1, "items": 1, "links": 1}
    assert body["skipped"] == 3  # seq, metadata [1,2], links: [1]
    assert (await client.get("/api/tasks?tag=a")).json()["total"] == 1
    threads = await client.post(
        "/api/chatkit", json={"type": "threads.list", "params": {"limit": 10}}
    )
    assert threads.status_code == 200


async def test_deeply_nested_import_is_refused(client):
    deep = b'{"format": "taskchat-export", "version": 1, "tasks": [' + b"[" * 100_000
    deep += b"]" * 100_000 + b"]}"
    r = await client.post("/api/import", content=deep)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    nested = doc(tasks=[task(title={"a": [[[[[1]]]]]})])
    r = await client.post("/api/import", content=json.dumps(nested).encode())
    assert r.status_code == 200 and r.json()["skipped"] == 1


# ----------------------------------------------------------------- finding 3: bounds


def bomb(size: int = 199 * 1024 * 1024) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("export.json", "w", force_zip64=True) as member:
            member.write(b'{"format": "taskchat-export", "version": 1, "tasks": [], "x": "')
            chunk = b"a" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                member.write(chunk)
            member.write(b'"}')
    return buf.getvalue()


async def test_zip_bomb_is_refused_clearly(client):
    raw = bomb()
    assert len(raw) < 300_000
    r = await client.post("/api/import", content=raw)
    assert r.status_code == 422
    assert "too large" in r.json()["error"]["message"]


def test_zip_bomb_costs_little_memory(tmp_path):
    """The ~200 KB zip holding 199 MiB of JSON, in a fresh process: refused, and the
    process's peak memory grows by less than 100 MB."""
    import subprocess
    import sys

    path = tmp_path / "bomb.zip"
    path.write_bytes(bomb())
    probe = (
        "import resource, sys\n"
        "from app.export import service\n"
        "from app.errors import InvalidInput\n"
        "raw = open(sys.argv[1], 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    service.load_payload(raw)\n"
        "except InvalidInput as exc:\n"
        "    print('refused', exc.message)\n"
        "print('grew_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=120
    ).stdout
    assert "refused" in out and "too large" in out, out
    grew_kb = int(out.rsplit("grew_kb", 1)[1])
    assert grew_kb < 100 * 1024, grew_kb


def test_zip_whose_header_lies_is_counted_while_inflating(monkeypatch):
    monkeypatch.setattr(export, "MAX_IMPORT_BYTES", 1024 * 1024)
    raw = bytearray(bomb(4 * 1024 * 1024))
    # Rewrite the declared sizes (local header and central directory) to 1 KB.
    from app.errors import InvalidInput

    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as zf:
        info = zf.getinfo("export.json")
    assert info.file_size > 1024 * 1024
    with pytest.raises(InvalidInput, match="too large"):
        export.read_export_json(bytes(raw))


async def test_import_status_reports_the_last_import(client):
    r = await client.post("/api/import", content=json.dumps(doc(tasks=[task()])).encode())
    assert r.status_code == 200
    status = (await client.get("/api/import/status")).json()
    assert status["running"] is False and status["result"]["inserted"]["tasks"] == 1


# ----------------------------------------------------------------- finding 7: no 500s


async def test_out_of_range_due_dates_and_offsets_are_4xx(client):
    early = "0001-01-01T00:30:00+01:00"
    for method, url, body in [
        ("POST", "/api/tasks", {"title": "x", "due": early}),
        ("POST", "/api/tasks", {"title": "x", "due": "9999-12-31T23:30:00-01:00"}),
        ("POST", "/api/tasks", {"title": "x", "due": "0001-01-01"}),
        ("GET", f"/api/tasks?due_before={early}", None),
        ("GET", f"/api/tasks?due_after={early}", None),
        ("GET", "/api/tasks?offset=9223372036854775808", None),
        ("GET", "/api/tasks?offset=99999999999999999999999", None),
    ]:
        r = await client.request(method, url, json=body)
        assert r.status_code == 422, (url, body, r.status_code, r.text[:200])
        assert r.json()["error"]["code"] == "invalid_input"
    ok = await client.post("/api/tasks", json={"title": "x", "due": "1999-12-31T23:30:00-01:00"})
    assert ok.status_code == 201
    task_id = ok.json()["id"]
    r = await client.patch(f"/api/tasks/{task_id}", json={"due": early})
    assert r.status_code == 422


async def test_chatkit_body_with_deep_metadata_is_4xx(client):
    text = '{"type": "threads.list", "params": {}, "metadata": ' + '{"a": ' * 3000 + "1"
    text += "}" * 3000 + "}"
    r = await client.post(
        "/api/chatkit", content=text.encode(), headers={"content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert r.json()["error"]["code"]


def test_unauthenticated_nul_path_is_4xx_and_logs_little(live_server, settings):
    import httpx

    log = settings.log_dir / "taskchat.log"
    before = log.stat().st_size if log.exists() else 0
    with httpx.Client(base_url=live_server.url) as c:
        for path in ("/%00", "/api/%00", "/%00/x", "/a%00b"):
            r = c.get(path)
            assert r.status_code < 500, (path, r.status_code)
    after = log.stat().st_size if log.exists() else 0
    assert after - before < 2000


# ----------------------------------------------------------------- finding 8: file modes


def test_data_files_are_private_after_start_and_rotation(live_server, settings):
    import logging

    import httpx

    with httpx.Client(base_url=live_server.url, headers=live_server.headers()) as c:
        assert c.post("/api/tasks", json={"title": "make the WAL"}).status_code == 201
    for handler in logging.getLogger().handlers:
        if getattr(handler, "baseFilename", "").endswith("taskchat.log"):
            handler.doRollover()  # type: ignore[attr-defined]
    data = settings.data_dir
    for path in [data, *data.rglob("*")]:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if path.is_dir():
            assert mode == 0o700, (path, oct(mode))
        else:
            assert mode == 0o600, (path, oct(mode))


def test_start_up_makes_older_files_private(settings):
    from app.db.engine import secure_data_dir

    data = settings.ensure_data_dir()
    old = data / "sync.json"
    old.write_text("{}")
    os.chmod(old, 0o644)
    os.chmod(data, 0o755)
    fixed = secure_data_dir(data)
    assert old in fixed and data in fixed
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    new = data / "made-later.json"
    new.write_text("{}")  # the umask now keeps it private
    assert stat.S_IMODE(new.stat().st_mode) == 0o600


# ----------------------------------------------------------------- finding 7: the model


async def test_out_of_range_values_from_the_model_are_readable_tool_errors(chat, gemini):
    from tests.fakes.chatkit import create_thread, of_type, reply_text, stream
    from tests.fakes.gemini import Text, ToolCalls

    early = "0001-01-01T00:30:00+01:00"
    gemini.push(
        ToolCalls(
            [
                ("create_task", {"title": "old", "due": early}),
                ("list_tasks", {"due_before": early}),
                ("list_tasks", {"due_after": "9999-12-31T23:30:00-01:00"}),
                ("list_tasks", {"offset": 9223372036854775808}),
            ]
        ),
        Text(["Those dates are out of range."]),
    )
    async with chat.client(timeout=60) as c:
        events = await stream(c, create_thread("add something due in year 1"))
        assert (await c.get("/api/tasks")).json()["total"] == 0
    outputs = [json.loads(m["content"]) for m in gemini.requests[1].messages if m["role"] == "tool"]
    assert len(outputs) == 4 and all("error" in o for o in outputs), outputs
    assert "between 1900-01-01 and 9999-12-30" in outputs[0]["error"]
    assert of_type(events, "error") == []
    assert reply_text(events) == "Those dates are out of range."


async def test_a_thread_stored_with_list_metadata_still_lists(app, client, settings):
    """Stored by an import before the checks: threads.list reads it as empty metadata."""
    r = await client.post("/api/chatkit", json={"type": "threads.list", "params": {"limit": 5}})
    assert r.status_code == 200
    with sqlite3.connect(settings.sqlite_path) as conn:
        conn.execute(
            "INSERT INTO chat_thread (id, user_id, title, status, metadata, created_at, "
            "updated_at) VALUES ('thr_old', ?, 't', '{}', '[1, 2]', ?, ?)",
            (app.state.local_user_id, "2026-11-01 10:00:00.000000", "2026-11-01 10:00:00.000000"),
        )
    r = await client.post("/api/chatkit", json={"type": "threads.list", "params": {"limit": 5}})
    assert r.status_code == 200, r.text[:300]
    assert [t["id"] for t in r.json()["data"]] == ["thr_old"]
