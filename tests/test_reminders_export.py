"""Recurrence and reminders in exports: the iCalendar file parses back, JSON round-trips."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar

from app.cli import main


async def _seed(client) -> dict[str, dict]:
    specs = [
        {
            "title": "Water the plants",
            "recurrence": "FREQ=WEEKLY;BYDAY=SU",
            "due": "2099-01-04T17:00:00Z",
            "remind_before_minutes": 30,
            "tags": ["home"],
            "priority": "high",
        },
        {"title": "Pay rent", "recurrence": "FREQ=MONTHLY;BYMONTHDAY=1", "due": "2099-02-01"},
        {"title": "Call mom", "remind_at": "2099-01-05T16:00:00+01:00"},
        {"title": "Plain"},
    ]
    made = {}
    for spec in specs:
        r = await client.post("/api/tasks", json=spec)
        assert r.status_code == 201, r.text
        made[r.json()["title"]] = r.json()
    return made


def _todos(body: bytes) -> dict[str, object]:
    cal = Calendar.from_ical(body)
    return {str(c["summary"]): c for c in cal.walk("VTODO")}


async def test_ics_download_parses_back(client):
    made = await _seed(client)
    r = await client.get("/api/export.ics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    todos = _todos(r.content)
    assert set(todos) == set(made)
    water = todos["Water the plants"]
    assert str(water["uid"]).startswith(made["Water the plants"]["id"])
    assert water["rrule"].to_ical() == b"FREQ=WEEKLY;BYDAY=SU"
    assert water.decoded("due") == datetime(2099, 1, 4, 17, 0, tzinfo=UTC)
    assert water.decoded("dtstart") == water.decoded("due")
    assert int(water["priority"]) == 1
    [alarm] = water.walk("VALARM")
    assert alarm.decoded("trigger") == timedelta(minutes=-30)
    assert alarm["trigger"].params["RELATED"] == "END"
    assert str(alarm["action"]) == "DISPLAY"
    rent = todos["Pay rent"]
    assert rent["rrule"].to_ical() == b"FREQ=MONTHLY;BYMONTHDAY=1"
    assert rent.decoded("due") == date(2099, 2, 1)
    assert rent.walk("VALARM") == []
    [call] = todos["Call mom"].walk("VALARM")
    assert call.decoded("trigger") == datetime(2099, 1, 5, 15, 0, tzinfo=UTC)
    assert "rrule" not in todos["Call mom"] and "due" not in todos["Plain"]
    assert str(todos["Plain"]["status"]) == "NEEDS-ACTION"


async def test_ics_needs_a_session(app):
    import httpx

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as anonymous:
        assert (await anonymous.get("/api/export.ics")).status_code == 401


def test_cli_ics_export(tmp_path, capsys):
    import json

    stamp = "2026-11-01T10:00:00+00:00"
    task = {
        "id": "cli-rent",
        "title": "Pay rent",
        "completed": False,
        "due_at": "2099-02-01T00:00:00+00:00",
        "due_all_day": True,
        "tags": [],
        "created_at": stamp,
        "updated_at": stamp,
        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=1",
        "remind_at": "2099-02-01T08:00:00+00:00",
    }
    doc = {"format": "taskchat-export", "version": 1, "tasks": [task], "threads": [], "links": []}
    (tmp_path / "in.json").write_text(json.dumps(doc))
    assert main(["import", str(tmp_path / "in.json")]) == 0
    out = tmp_path / "tasks.ics"
    assert main(["export", "--ics", "--out", str(out)]) == 0
    assert "Exported 1 tasks as a calendar" in capsys.readouterr().out
    todos = _todos(out.read_bytes())
    assert todos["Pay rent"]["rrule"].to_ical() == b"FREQ=MONTHLY;BYMONTHDAY=1"
    assert todos["Pay rent"].decoded("due") == date(2099, 2, 1)
    [alarm] = todos["Pay rent"].walk("VALARM")
    assert alarm.decoded("trigger") == datetime(2099, 2, 1, 8, 0, tzinfo=UTC)
    assert main(["export", "--ics", "--zip", "--out", str(out)]) == 2


async def test_json_export_import_keeps_reminder_fields(client):
    made = await _seed(client)
    r = await client.get("/api/export")
    assert r.status_code == 200
    for task in made.values():
        await client.delete(f"/api/tasks/{task['id']}")
    r = await client.post("/api/import", content=r.content)
    assert r.status_code == 200, r.text
    back = {t["title"]: t for t in (await client.get("/api/tasks")).json()["items"]}
    for title, task in made.items():
        for key in ("recurrence", "remind_at", "remind_before_minutes", "due"):
            assert back[title][key] == task[key], (title, key)
    bad = await client.get("/api/export")
    import io
    import json
    import zipfile

    with zipfile.ZipFile(io.BytesIO(bad.content)) as z:
        doc = json.loads(z.read("export.json"))
    doc["tasks"][0]["recurrence"] = "FREQ=SOMETIMES"
    doc["tasks"][0]["updated_at"] = "2199-01-01T00:00:00+00:00"
    r = await client.post("/api/import", content=json.dumps(doc).encode())
    # The row is refused (with its reason); the rest of the import goes on.
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["skipped"] == 1
    assert "recurrence" in report["problems"][0] and "FREQ" in report["problems"][0]
