"""Sync spaces end to end: pairing codes, encryption at the PostgreSQL boundary,
quarantine of rows that fail authentication, the plaintext upgrade, devices."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from app.config import Settings
from app.main import create_app
from app.sync import crypto, local
from app.sync.crypto import RowAuthError, RowCipher, format_code, new_sync_key, parse_code
from tests.conftest import auth_headers
from tests.pg import free_port
from tests.sync_util import Device

SECRET_WORDS = ("Buy oat milk", "quarterly-report", "remember the blue folder", "Trip plans")


# ----------------------------------------------------------------------------- crypto


def test_pairing_code_round_trip_and_typos():
    key = new_sync_key()
    code = format_code(key)
    assert len(code.split("-")) == 8 and all(len(g) == 4 for g in code.split("-"))
    assert parse_code(code) == key
    assert parse_code(" " + code.lower().replace("-", " ") + "\n") == key
    typo = code[:5] + ("A" if code[5] != "A" else "B") + code[6:]
    with pytest.raises(crypto.InvalidCode, match="typo"):
        parse_code(typo)
    with pytest.raises(crypto.InvalidCode, match="groups of four"):
        parse_code(code[:-4])
    assert crypto.recovery_hint(key).startswith(code[:4]) and code not in crypto.recovery_hint(key)


def _row(**fields: Any) -> dict[str, Any]:
    return {
        "e": "task",
        "id": "t1",
        "f": {k: [v, "0000018c00000001", "dev-a"] for k, v in fields.items()},
        "d": None,
    }


def test_sealed_rows_open_and_tampering_is_caught():
    cipher = RowCipher(new_sync_key())
    row = _row(title="Buy oat milk", completed=0, due_at=None, tags='["home"]')
    sealed = cipher.seal_rows([row])[0]
    assert "oat" not in json.dumps(sealed) and "home" not in json.dumps(sealed)
    assert cipher.open_row(sealed) == row
    # Another key: nothing opens.
    with pytest.raises(RowAuthError):
        RowCipher(new_sync_key()).open_row(sealed)
    # The server moves a value to another field, re-stamps it, or moves it to another row.
    moved = json.loads(json.dumps(sealed))
    moved["f"]["tags"][0] = sealed["f"]["title"][0]
    restamped = json.loads(json.dumps(sealed))
    restamped["f"]["title"][1] = "0000018c00000009"
    other_row = {**json.loads(json.dumps(sealed)), "id": "t2"}
    plaintext = json.loads(json.dumps(sealed))
    plaintext["f"]["title"][0] = "Injected"
    flipped = json.loads(json.dumps(sealed))
    v = flipped["f"]["title"][0]
    flipped["f"]["title"][0] = v[:-6] + ("A" if v[-6] != "A" else "B") + v[-5:]
    for bad in (moved, restamped, other_row, plaintext, flipped):
        with pytest.raises(RowAuthError):
            cipher.open_row(bad)
    # Tombstones are signed: a forged or re-stamped delete is caught.
    tomb = cipher.seal_rows([{"e": "task", "id": "t1", "f": {}, "d": ["0000018c00000002", "a"]}])
    assert cipher.open_row(tomb[0])["d"] == ["0000018c00000002", "a"]
    forged = {"e": "task", "id": "t1", "f": {}, "d": ["0000018c00000003", "a"]}
    with pytest.raises(RowAuthError):
        cipher.open_row(forged)
    with pytest.raises(RowAuthError):
        cipher.open_row({**tomb[0], "d": ["0000018c00000003", "a", tomb[0]["d"][2]]})
    # Only wanted fields are opened; a tampered unwanted field is never applied anyway.
    partial = cipher.open_row(moved, {"title"})
    assert partial["f"]["title"][0] == "Buy oat milk" and partial["f"]["tags"][0] is None


# ------------------------------------------------------------------------- two apps


@asynccontextmanager
async def running_app(root: Path, name: str) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    settings = Settings(data_dir=root / name, database_url=None)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=auth_headers(application)
        ) as client:
            yield application, client


async def _titles(client: httpx.AsyncClient) -> set[str]:
    r = await client.get("/api/tasks", params={"limit": 500})
    assert r.status_code == 200, r.text
    return {t["title"] for t in r.json()["items"]}


async def _add_chat(app: Any, title: str, message: str) -> None:
    """A thread and a message, written as the chat store writes them (triggers note them)."""
    user = app.state.local_user_id
    async with app.state.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO chat_thread (id, user_id, title, status, metadata, created_at, "
                "updated_at) VALUES (:id, :u, :t, '{}', '{}', '2026-12-01 10:00:00.000000', "
                "'2026-12-01 10:00:00.000000')"
            ),
            {"id": "thr_" + title[:4], "u": user, "t": title},
        )
        await conn.execute(
            text(
                "INSERT INTO chat_item (id, user_id, thread_id, type, created_at, seq, data) "
                "VALUES (:id, :u, :th, 'user_message', '2026-12-01 10:00:01.000000', 1, :d)"
            ),
            {
                "id": "msg_" + title[:4],
                "u": user,
                "th": "thr_" + title[:4],
                "d": json.dumps({"content": [{"type": "input_text", "text": message}]}),
            },
        )


async def _dump(url: str) -> str:
    """Every row of every table of the sync database, as text."""
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        )
        out = []
        for t in tables:
            rows = await conn.fetch(f'SELECT * FROM "{t["tablename"]}"')
            out.append(f"{t['tablename']}: " + "\n".join(str(dict(r)) for r in rows))
        return "\n".join(out)
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_start_join_sync_and_the_database_sees_only_ciphertext(tmp_path, pg_database):
    async with (
        running_app(tmp_path, "a") as (app_a, a),
        running_app(tmp_path, "b") as (app_b, b),
    ):
        assert (await a.post("/api/tasks", json={"title": "Buy oat milk"})).status_code == 201
        made = await a.post(
            "/api/tasks",
            json={
                "title": "Finish the report",
                "description": "remember the blue folder",
                "tags": ["quarterly-report"],
            },
        )
        assert made.status_code == 201
        await _add_chat(app_a, "Trip plans", "Which train leaves first?")
        assert (await b.post("/api/tasks", json={"title": "B had this before"})).status_code == 201
        b_user_before = app_b.state.local_user_id

        # No keyring here (tests use keyring's `fail` backend): refused, nothing stored...
        r = await a.post("/api/sync/setup", json={"url": pg_database})
        assert r.status_code == 409 and r.json()["error"]["code"] == "keyring_unavailable"
        assert "plaintext file" in r.json()["error"]["message"]
        assert not (tmp_path / "a" / "sync-space.json").exists()
        # ... until the person allows the explained file.
        r = await a.post("/api/sync/setup", json={"url": pg_database, "allow_plaintext_file": True})
        assert r.status_code == 200, r.text
        code = r.json()["code"]
        assert parse_code(code) and r.json()["secrets"] == "file"
        assert r.json()["qr"].startswith("data:image/svg+xml")
        assert r.json()["status"]["encrypted"] is True
        secrets_file = tmp_path / "a" / "sync-secrets.UNENCRYPTED.json"
        assert secrets_file.stat().st_mode & 0o777 == 0o600
        assert "UNENCRYPTED" in json.loads(secrets_file.read_text())["warning"]

        # A wrong code is refused and changes nothing on B.
        wrong = format_code(new_sync_key())
        before = sorted(p.name for p in (tmp_path / "b").iterdir())
        r = await b.post(
            "/api/sync/setup",
            json={"url": pg_database, "code": wrong, "allow_plaintext_file": True},
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_pairing_code"
        assert "Nothing was changed" in r.json()["error"]["message"]
        assert sorted(p.name for p in (tmp_path / "b").iterdir()) == before
        assert app_b.state.local_user_id == b_user_before
        r = await b.post(
            "/api/sync/setup",
            # (Another last letter: "X" when the code ends in X was no typo at all.)
            json={
                "url": pg_database,
                "code": code[:-1] + ("Y" if code.endswith("X") else "X"),
                "allow_plaintext_file": True,
            },
        )
        assert r.status_code == 422  # a typo, caught before the network

        # B joins: adopts A's profile, keeps its own task.
        r = await b.post(
            "/api/sync/setup",
            json={"url": pg_database, "code": code.lower(), "allow_plaintext_file": True},
        )
        assert r.status_code == 200, r.text
        assert r.json()["role"] == "joined" and r.json()["kept"].get("task") == 1
        assert app_b.state.local_user_id == app_a.state.local_user_id
        profile = json.loads((tmp_path / "b" / "profile.json").read_text())
        assert profile["user_id"] == app_a.state.local_user_id
        assert b_user_before in profile["previous_user_ids"]

        for _ in range(2):
            assert (await a.post("/api/sync/run")).json()["last_error"] is None
            assert (await b.post("/api/sync/run")).json()["last_error"] is None
        everything = {"Buy oat milk", "Finish the report", "B had this before"}
        assert await _titles(a) == everything
        assert await _titles(b) == everything  # B's old session still works (alias)
        # One Inbox on both, the space's, with B's own Inbox task in it.
        for client in (a, b):
            found = (await client.get("/api/lists")).json()["items"]
            assert [(x["name"], x["is_inbox"]) for x in found] == [("Inbox", True)]
            inbox = found[0]["id"]
            listed = (await client.get("/api/tasks", params={"list_id": inbox})).json()
            assert {t["title"] for t in listed["items"]} == everything
        found = (await b.get("/api/search", params={"q": "before"})).json()["results"]
        assert any("B had this before" in json.dumps(x) for x in found)  # search re-scoped
        assert (await b.post("/api/tasks", json={"title": "Made on B"})).status_code == 201
        await b.post("/api/sync/run")
        await a.post("/api/sync/run")
        assert "Made on B" in await _titles(a)
        async with app_b.state.engine.connect() as conn:
            thread = (await conn.execute(text("SELECT title FROM chat_thread"))).scalar_one()
        assert thread == "Trip plans"

        # Devices: both listed with names; A removes B, B stops at its next round.
        devices = (await a.get("/api/sync/devices")).json()["items"]
        assert len(devices) == 2 and sum(d["this_device"] for d in devices) == 1
        other = next(d for d in devices if not d["this_device"])
        assert other["name"] and other["last_seen"]
        status = (await b.get("/api/sync/status")).json()
        assert status["space"]["role"] == "joined" and status["quarantined"] == 0

    dump = await _dump(pg_database)
    assert "taskchat_sync_row" in dump and "e1:" in dump
    for word in (*SECRET_WORDS, "Which train", "oat", "blue folder", "B had this"):
        assert word not in dump, word


@pytest.mark.postgres
async def test_removed_device_stops_and_leave_keeps_data(tmp_path, pg_database):
    async with (
        running_app(tmp_path, "a") as (_app_a, a),
        running_app(tmp_path, "b") as (_app_b, b),
    ):
        body = {"url": pg_database, "allow_plaintext_file": True, "device_name": "Laptop"}
        code = (await a.post("/api/sync/setup", json=body)).json()["code"]
        body = {**body, "code": code, "device_name": "Phone"}
        assert (await b.post("/api/sync/setup", json=body)).status_code == 200
        devices = (await a.get("/api/sync/devices")).json()["items"]
        assert {d["name"] for d in devices} == {"Laptop", "Phone"}
        phone = next(d for d in devices if d["name"] == "Phone")
        r = await a.delete(f"/api/sync/devices/{phone['id']}")
        assert r.status_code == 200
        assert next(d for d in r.json()["items"] if d["id"] == phone["id"])["removed"]
        status = (await b.post("/api/sync/run")).json()
        assert "removed from the sync space" in status["last_error"]
        # A leaves: its data stays, sync is off.
        await a.post("/api/tasks", json={"title": "stays here"})
        status = (await a.post("/api/sync/leave")).json()
        assert status["enabled"] is False
        assert "stays here" in await _titles(a)
        assert (await a.get("/api/sync/devices")).status_code == 409


@pytest.mark.postgres
async def test_rows_failing_authentication_are_quarantined(tmp_path, pg_database):
    async with (
        running_app(tmp_path, "a") as (_app_a, a),
        running_app(tmp_path, "b") as (_app_b, b),
    ):
        body = {"url": pg_database, "allow_plaintext_file": True}
        code = (await a.post("/api/sync/setup", json=body)).json()["code"]
        assert (await b.post("/api/sync/setup", json={**body, "code": code})).status_code == 200
        await a.post("/api/tasks", json={"title": "genuine"})
        await a.post("/api/tasks", json={"title": "will be tampered"})
        await a.post("/api/sync/run")
        # The database host swaps the title ciphertexts of the two rows.
        conn = await asyncpg.connect(pg_database)
        try:
            rows = await conn.fetch(
                "SELECT row_id, fields::text AS f FROM taskchat_sync_row WHERE entity = 'task'"
            )
            fields = {r["row_id"]: json.loads(r["f"]) for r in rows}
            (id1, f1), (id2, f2) = fields.items()
            f1["title"][0], f2["title"][0] = f2["title"][0], f1["title"][0]
            for rid, f in ((id1, f1), (id2, f2)):
                await conn.execute(
                    "UPDATE taskchat_sync_row SET fields = $2::jsonb WHERE row_id = $1",
                    rid,
                    json.dumps(f),
                )
        finally:
            await conn.close()
        status = (await b.post("/api/sync/run")).json()
        assert status["last_error"] is None
        assert status["quarantined"] == 2
        assert {q["id"] for q in status["quarantine"]} == {id1, id2}
        titles = await _titles(b)
        assert "genuine" not in titles and "will be tampered" not in titles


@pytest.mark.postgres
async def test_plaintext_space_is_upgraded_in_place(tmp_path, pg_database):
    user = "legacy-user"
    old_a = await Device(tmp_path, "old-a", user, pg_database).open()
    old_b = await Device(tmp_path, "old-b", user, pg_database).open()
    try:
        ids = [
            (await old_a.create(title=f"legacy {i}", tags=["quarterly-report"])).id
            for i in range(5)
        ]
        await old_a.run()
        await old_b.run()
        gone = await old_b.create(title="made on b then deleted")
        await old_b.update(ids[0], title="legacy 0 edited on b")
        await old_b.run()
        await old_b.delete(gone.id)
        await old_b.run()
    finally:
        await old_a.close()
        await old_b.close()
    # Device a (unencrypted until now) starts a space on the same database.
    (tmp_path / "old-a" / "profile.json").write_text(
        json.dumps({"user_id": user, "device_id": "old-a"})
    )
    async with running_app(tmp_path, "old-a") as (_app, a):
        before = await _titles(a)
        assert "legacy 0" in before and "made on b then deleted" not in before
        r = await a.post("/api/sync/setup", json={"url": pg_database, "allow_plaintext_file": True})
        assert r.status_code == 200, r.text
        assert r.json()["upgraded_rows"] == 7  # 5 tasks, a tombstone and the Inbox list
        code = r.json()["code"]
        after = await _titles(a)
        assert "legacy 0 edited on b" in after and len(after) == 5
    dump = await _dump(pg_database)
    assert "legacy 0" not in dump and "quarterly" not in dump
    assert f"upgraded:{user}" in dump
    # A fresh device joins and gets every row; the old unencrypted client is told why.
    async with running_app(tmp_path, "fresh") as (_app, c):
        body = {"url": pg_database, "code": code, "allow_plaintext_file": True}
        assert (await c.post("/api/sync/setup", json=body)).status_code == 200
        await c.post("/api/sync/run")
        assert await _titles(c) == after
    stale = await Device(tmp_path, "old-b", user, pg_database).open()
    try:
        with pytest.raises(RuntimeError):
            await stale.run()
        assert "end-to-end encrypted" in (stale.sync.status.last_error or "")
    finally:
        await stale.close()


async def test_check_explains_an_unreachable_database(client):
    r = await client.post(
        "/api/sync/check", json={"url": f"postgresql://u:pw-123@127.0.0.1:{free_port()}/db"}
    )
    assert r.status_code == 502 and r.json()["error"]["code"] == "sync_unreachable"
    assert "Could not reach" in r.json()["error"]["message"]
    assert "pw-123" not in r.text
    r = await client.post("/api/sync/check", json={"url": "mysql://x"})
    assert r.status_code == 422 and "Neon" in r.json()["error"]["message"]
    r = await client.post("/api/sync/setup", json={"url": "https://x", "code": 5})
    assert r.status_code == 422


@pytest.mark.postgres
def test_cli_setup_start_join_and_devices(tmp_path, pg_database, monkeypatch, capsys):
    import io

    from app.cli import main as cli_main
    from app.config import get_settings

    def on(name: str, stdin: str) -> None:
        monkeypatch.setenv("TASKCHAT_DATA_DIR", str(tmp_path / name))
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        get_settings.cache_clear()

    on("cli-a", pg_database + "\n")
    assert cli_main(["sync", "setup", "--plaintext-file", "--name", "Desk"]) == 0
    out = capsys.readouterr().out
    code = next(
        line.split(":", 1)[1].strip() for line in out.splitlines() if "Pairing code" in line
    )
    assert parse_code(code)
    on("cli-b", pg_database + "\n" + format_code(new_sync_key()) + "\n")
    assert cli_main(["sync", "setup", "--join", "--plaintext-file"]) == 1
    assert "No sync space" in capsys.readouterr().err
    assert not (tmp_path / "cli-b" / "sync-space.json").exists()
    on("cli-b", pg_database + "\n" + code + "\n")
    assert cli_main(["sync", "setup", "--join", "--plaintext-file", "--name", "Tablet"]) == 0
    assert "Joined the sync space" in capsys.readouterr().out
    assert cli_main(["sync"]) == 0
    assert cli_main(["sync", "devices"]) == 0
    out = capsys.readouterr().out
    assert "Desk" in out and "Tablet (this device)" in out


@pytest.mark.postgres
async def test_check_waits_for_a_database_that_is_waking_up(client, pg_server, pg_database):
    """Like a suspended Neon compute: nothing listens at first; the check retries."""
    import asyncio

    from tests.tcp_proxy import TcpProxy

    port = free_port()
    proxy = TcpProxy("127.0.0.1", pg_server.port)

    async def wake() -> None:
        await asyncio.sleep(0.6)
        await proxy.start(port)

    waking = asyncio.create_task(wake())
    try:
        url = pg_database.replace(f":{pg_server.port}/", f":{port}/")
        r = await client.post("/api/sync/check", json={"url": url})
        assert r.status_code == 200, r.text
        assert r.json()["ok"] and "Connected to 127.0.0.1" in r.json()["message"]
    finally:
        await waking
        await proxy.stop()


def test_fields_to_open_cover_whole_groups():
    """A group (due_at + due_all_day) wins as one, so a winning field opens its sibling."""
    import sqlite3

    from sqlalchemy import create_engine

    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(":memory:"))
    with engine.begin() as conn:
        columns = ", ".join(f'"{f}"' for f in local.SYNCED["task"])
        conn.exec_driver_sql(f"CREATE TABLE task (id TEXT PRIMARY KEY, user_id TEXT, {columns})")
        conn.exec_driver_sql(
            "CREATE TABLE sync_clock (entity TEXT, row_id TEXT, field TEXT, hlc TEXT, device TEXT)"
        )
        conn.exec_driver_sql("INSERT INTO task (id, user_id) VALUES ('t1', 'u')")
        for field, hlc in (("due_at", "5"), ("due_all_day", "5"), ("title", "5")):
            conn.exec_driver_sql(
                "INSERT INTO sync_clock VALUES ('task', 't1', ?, ?, 'a')", (field, hlc)
            )
        from app.sync.pairing import wanted_fields

        rows = [
            {
                "e": "task",
                "id": "t1",
                "f": {
                    "due_at": ["x", "6", "b"],
                    "due_all_day": ["y", "2", "b"],
                    "title": ["z", "4", "b"],
                },
            },
            {"e": "task", "id": "t2", "f": {"title": ["z", "1", "b"]}},
        ]
        wanted = wanted_fields(conn, rows)
    assert wanted[("task", "t1")] == {"due_at", "due_all_day"}
    assert wanted[("task", "t2")] is None  # not here: every field opens
