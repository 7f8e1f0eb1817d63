"""Reminder and recurrence fields sync field by field: Done or Snooze reach the other device."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.tasks import service
from app.tasks.models import Task
from tests.sync_util import device_maker

pytestmark = pytest.mark.postgres
USER = "user-sync"


@pytest.fixture
async def devices(tmp_path, pg_database):
    async with device_maker(tmp_path, pg_database, USER) as make:
        yield make


async def test_done_snooze_and_shown_reach_the_other_device(devices):
    a, b = await devices("dev-a"), await devices("dev-b")
    t = await a.create(
        title="Water plants",
        recurrence="FREQ=WEEKLY;BYDAY=SU",
        due="2099-01-04T17:00:00Z",
        remind_before_minutes=30,
    )
    await a.run()
    await b.run()
    assert (await b.tasks())[t.id]["recurrence"] == "FREQ=WEEKLY;BYDAY=SU"

    async with b.sessionmaker() as session:  # Done on B: the task moves a week on
        await service.set_completed(session=session, user_id=USER, task_id=t.id)
    await b.run()
    await a.run()
    ta, tb = (await a.tasks())[t.id], (await b.tasks())[t.id]
    assert ta == tb
    assert ta["completed"] == 0 and str(ta["due_at"]).startswith("2099-01-11")
    assert ta["last_completed_at"] is not None

    until = datetime.now(UTC) + timedelta(minutes=10)
    async with a.sessionmaker() as session:  # Snooze on A
        await service.snooze_reminder(session=session, user_id=USER, task_id=t.id, until=until)
        # ...and A showed it (what the scheduler writes).
        await session.exec(
            update(Task).where(Task.id == t.id).values(reminded_for=until)  # type: ignore[arg-type]
        )
        await session.commit()
    await a.run()
    await b.run()
    ta, tb = (await a.tasks())[t.id], (await b.tasks())[t.id]
    assert ta == tb
    assert ta["remind_at"] == ta["reminded_for"] and ta["remind_before_minutes"] is None
