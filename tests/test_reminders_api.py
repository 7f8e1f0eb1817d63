"""REST contract of recurring tasks and reminders: fields, validation, complete, skip, filters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text, update
from sqlmodel import select

from app.tasks.models import Task

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def berlin(app):
    app.state.settings.timezone = "Europe/Berlin"
    return app


async def create(client, **fields):
    r = await client.post("/api/tasks", json={"title": "t", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_new_fields_round_trip(client):
    body = await create(
        client,
        title="Water the plants",
        recurrence="RRULE:freq=weekly;byday=SU",
        due="2026-12-06T18:00:00+01:00",
        remind_at="2026-12-06T17:30:00+01:00",
    )
    assert body["recurrence"] == "FREQ=WEEKLY;BYDAY=SU"
    assert instant(body["remind_at"]) == datetime(2026, 12, 6, 16, 30, tzinfo=UTC)
    assert body["remind_at"].endswith("Z")  # ISO 8601 with its offset
    assert body["last_completed_at"] is None
    plain = await create(client, title="plain")
    assert plain["recurrence"] is None and plain["remind_at"] is None
    fetched = (await client.get(f"/api/tasks/{body['id']}")).json()
    assert fetched["recurrence"] == body["recurrence"]


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"recurrence": "FREQ=FORTNIGHTLY"}, "recurrence", "FREQ"),
        ({"recurrence": "BYDAY=MO"}, "recurrence", "needs FREQ"),
        ({"recurrence": "FREQ=WEEKLY;BYDAY=XY"}, "recurrence", "not a valid RRULE"),
        ({"recurrence": "FREQ=DAILY\nDTSTART:20260101"}, "recurrence", "one RRULE line"),
        ({"recurrence": "FREQ=SECONDLY"}, "recurrence", "FREQ"),
        ({"recurrence": "FREQ=DAILY;INTERVAL=0"}, "recurrence", "INTERVAL"),
        ({"recurrence": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "recurrence", "never occurs"),
        ({"recurrence": 7}, "recurrence", "RRULE string"),
        ({"remind_at": "2026-12-04T09:00:00"}, "remind_at", "time zone"),
        ({"remind_at": "tomorrow"}, "remind_at", "date-time"),
        ({"remind_before_minutes": -5}, "remind_before_minutes", "between 0"),
        ({"remind_before_minutes": 30}, "remind_before_minutes", "needs a due"),
    ],
)
async def test_invalid_reminder_fields_name_the_field(client, fields, field, fragment):
    r = await client.post("/api/tasks", json={"title": "ok", **fields})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["field"] == field
    assert fragment in error["message"]
    task = await create(client, title="x")
    r = await client.patch(f"/api/tasks/{task['id']}", json=fields)
    assert r.status_code == 422 and r.json()["error"]["field"] == field


async def test_complete_recurring_moves_to_next_occurrence(client, berlin):
    task = await create(
        client,
        recurrence="FREQ=DAILY",
        due="2099-03-27T09:00:00+01:00",
        remind_at="2099-03-27T08:45:00+01:00",
    )
    r = await client.post(f"/api/tasks/{task['id']}/complete")
    assert r.status_code == 200
    done = r.json()
    assert done["id"] == task["id"]
    assert done["completed"] is False and done["completed_at"] is None
    # 28 March 2099 is still winter time in Berlin; then 29 March (summer time) 09:00 local.
    assert instant(done["due"]).astimezone(BERLIN).replace(tzinfo=None) == datetime(
        2099, 3, 28, 9, 0
    )
    assert instant(done["remind_at"]).astimezone(BERLIN).replace(tzinfo=None) == datetime(
        2099, 3, 28, 8, 45
    )
    assert done["last_completed_at"] is not None
    again = (await client.post(f"/api/tasks/{task['id']}/complete")).json()
    local = instant(again["due"]).astimezone(BERLIN)
    assert (local.day, local.hour, local.minute) == (29, 9, 0)
    assert local.utcoffset() == timedelta(hours=2)  # across the DST change, still 09:00
    assert instant(again["remind_at"]).astimezone(BERLIN).hour == 8


async def test_all_day_monthly_and_count_runs_out(client, berlin):
    task = await create(client, recurrence="FREQ=MONTHLY;BYMONTHDAY=1;COUNT=2", due="2099-01-01")
    first = (await client.post(f"/api/tasks/{task['id']}/complete")).json()
    assert first["due"] == "2099-02-01" and first["completed"] is False
    assert first["recurrence"] == "FREQ=MONTHLY;BYMONTHDAY=1;COUNT=1"
    last = (await client.post(f"/api/tasks/{task['id']}/complete")).json()
    assert last["completed"] is True and last["due"] == "2099-02-01"


async def test_overdue_task_moves_to_the_future(client, berlin):
    task = await create(client, recurrence="FREQ=WEEKLY;BYDAY=MO", due="2020-01-06")
    done = (await client.post(f"/api/tasks/{task['id']}/complete")).json()
    due = datetime.fromisoformat(done["due"]).date()
    assert due > datetime.now(BERLIN).date() and due.weekday() == 0


async def test_skip_and_stop_repeating(client, berlin):
    task = await create(client, recurrence="FREQ=WEEKLY;BYDAY=MO", due="2099-01-05")
    skipped = (await client.post(f"/api/tasks/{task['id']}/skip")).json()
    assert skipped["due"] == "2099-01-12" and skipped["last_completed_at"] is None
    assert skipped["completed"] is False
    stopped = await client.patch(f"/api/tasks/{task['id']}", json={"recurrence": None})
    assert stopped.json()["recurrence"] is None
    done = (await client.post(f"/api/tasks/{task['id']}/complete")).json()
    assert done["completed"] is True and done["due"] == "2099-01-12"
    plain = await create(client)
    r = await client.post(f"/api/tasks/{plain['id']}/skip")
    assert r.status_code == 422 and r.json()["error"]["field"] == "recurrence"
    r = await client.post("/api/tasks/nope/skip")
    assert r.status_code == 404


async def test_relative_reminder_moves_with_due(client, berlin):
    task = await create(client, due="2099-05-01T10:00:00+02:00", remind_before_minutes=30)
    assert instant(task["remind_at"]) == datetime(2099, 5, 1, 7, 30, tzinfo=UTC)
    moved = (
        await client.patch(f"/api/tasks/{task['id']}", json={"due": "2099-05-02T12:00:00+02:00"})
    ).json()
    assert instant(moved["remind_at"]) == datetime(2099, 5, 2, 9, 30, tzinfo=UTC)
    assert moved["remind_before_minutes"] == 30
    absolute = (
        await client.patch(f"/api/tasks/{task['id']}", json={"remind_at": "2099-05-02T06:00:00Z"})
    ).json()
    assert absolute["remind_before_minutes"] is None
    cleared = (await client.patch(f"/api/tasks/{task['id']}", json={"remind_at": None})).json()
    assert cleared["remind_at"] is None
    all_day = await create(client, due="2099-05-03", remind_before_minutes=60)
    # All-day: counted from 09:00 local.
    assert instant(all_day["remind_at"]).astimezone(BERLIN).hour == 8


async def test_filters_remind_before_and_recurring(client):
    soon = await create(client, title="soon", remind_at="2099-01-01T08:00:00Z")
    await create(client, title="later", remind_at="2099-06-01T08:00:00Z")
    weekly = await create(client, title="weekly", recurrence="FREQ=WEEKLY")
    page = (await client.get("/api/tasks", params={"remind_before": "2099-02-01T00:00:00Z"})).json()
    assert [t["id"] for t in page["items"]] == [soon["id"]]
    page = (await client.get("/api/tasks", params={"recurring": "true"})).json()
    assert [t["id"] for t in page["items"]] == [weekly["id"]]
    assert (await client.get("/api/tasks", params={"recurring": "false"})).json()["total"] == 2
    r = await client.get("/api/tasks", params={"remind_before": "soon"})
    assert r.status_code == 422


async def test_bulk_complete_advances_recurring(app, client):
    from app.tasks import service

    rec = await create(client, recurrence="FREQ=DAILY", due="2099-01-01")
    plain = await create(client)
    async with app.state.sessionmaker() as session:
        await service.bulk_complete(
            session=session, user_id=app.state.local_user_id, task_ids=[rec["id"], plain["id"]]
        )
    assert (await client.get(f"/api/tasks/{rec['id']}")).json()["due"] == "2099-01-02"
    assert (await client.get(f"/api/tasks/{plain['id']}")).json()["completed"] is True


async def test_search_results_carry_recurrence_and_reminder(client):
    task = await create(
        client,
        title="Water the ferns",
        recurrence="FREQ=WEEKLY;BYDAY=SU",
        remind_at="2099-01-04T17:00:00Z",
    )
    await create(client, title="Ferns book")
    r = await client.get("/api/search", params={"q": "ferns"})
    assert r.status_code == 200
    hits = {h["title"]: h for h in r.json()["results"] if h["kind"] == "task"}
    assert hits["Water the ferns"]["id"] == task["id"]
    assert hits["Water the ferns"]["recurrence"] == "FREQ=WEEKLY;BYDAY=SU"
    assert hits["Water the ferns"]["remind_at"] == "2099-01-04T17:00:00Z"
    assert hits["Ferns book"]["recurrence"] is None


async def test_repeating_task_without_due_starts_on_its_first_day(client, berlin):
    task = await create(client, title="Bins", recurrence="FREQ=WEEKLY;BYDAY=WE")
    first = datetime.fromisoformat(task["due"]).date()
    today = datetime.now(BERLIN).date()
    assert first.weekday() == 2 and 0 <= (first - today).days < 7
    plain = await create(client, title="x")
    daily = await client.patch(f"/api/tasks/{plain['id']}", json={"recurrence": "FREQ=DAILY"})
    assert datetime.fromisoformat(daily.json()["due"]).date() == today


@pytest.mark.parametrize(
    "fields",
    [
        {"remind_at": "0001-01-01T00:30:00+01:00"},
        {"remind_at": "1800-01-01T00:00:00Z"},
        {"due": "1900-01-01T00:10:00Z", "remind_before_minutes": 60},
    ],
)
async def test_reminders_outside_storable_dates_are_422(client, fields):
    r = await client.post("/api/tasks", json={"title": "x", **fields})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] in ("remind_at", "remind_before_minutes")


async def test_a_series_reaching_year_9999_ends_instead_of_failing(client):
    task = await create(client, recurrence="FREQ=YEARLY", due="9999-06-01")
    done = await client.post(f"/api/tasks/{task['id']}/complete")
    assert done.status_code == 200 and done.json()["completed"] is True


async def wakes_after(scheduler, write) -> bool:
    """Whether running `write` (a coroutine function) woke the reminder scheduler."""
    await asyncio.sleep(0.2)  # earlier wake-ups are over
    before = scheduler.wakeups
    await write()
    for _ in range(20):
        if scheduler.wakeups > before:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_only_commits_that_write_tasks_wake_the_scheduler(app, client):
    """The scheduler looks again after a commit that wrote the task table, by ORM, Core
    or raw SQL (sync applies rows that way), and sleeps through every other commit and
    through a task write that was rolled back."""
    scheduler, engine = app.state.reminders, app.state.engine
    task = await create(client, title="Water plants")

    async def raw_sql() -> None:
        async with engine.begin() as conn:
            await conn.execute(
                text('UPDATE "task" SET title = :t WHERE id = :i'), {"t": "Plants", "i": task["id"]}
            )

    async def core() -> None:
        async with engine.begin() as conn:
            await conn.execute(update(Task).where(Task.id == task["id"]).values(title="Core"))  # type: ignore[arg-type]

    async def other_table() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE task_tag SET tag = tag"))

    async def rolled_back() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("UPDATE task SET title = 'x'"))
            await conn.rollback()
        async with engine.begin() as conn:
            await conn.execute(select(Task.id))

    async def rest() -> None:
        r = await client.patch(f"/api/tasks/{task['id']}", json={"title": "From REST"})
        assert r.status_code == 200

    assert await wakes_after(scheduler, raw_sql)
    assert await wakes_after(scheduler, core)
    assert await wakes_after(scheduler, rest)
    assert not await wakes_after(scheduler, other_table)
    assert not await wakes_after(scheduler, rolled_back)
