"""Lists, steps and order across devices (sync), export/import and the legacy importer."""

from __future__ import annotations

import json

import pytest

from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.export import service as export
from app.lists import service as lists
from app.lists.models import ListCreate, ListUpdate, TaskMove, inbox_id
from app.sync.legacy import import_legacy
from app.tasks import service as tasks
from app.tasks.models import TaskCreate, TaskQuery
from tests.sync_util import Device, device_maker
from tests.test_sync_legacy import legacy_sqlite

USER = "user-lists"


async def _open(root, name):
    engine = create_engine(Settings(data_dir=root / name, database_url=None))
    await migrate.upgrade(engine)
    return engine, create_sessionmaker(engine)


async def _dump(maker, user=USER) -> dict:
    async with maker() as s:
        data = await export.export_data(s, user_id=user)
    data.pop("exported_at")
    return data


async def _order(maker, user=USER) -> list[tuple]:
    """Every list in order, each with its top-level tasks in order, each with its steps."""
    out = []
    async with maker() as s:
        for lst in (await lists.list_lists(session=s, user_id=user)).items:
            top = await tasks.list_tasks(
                session=s, user_id=user, query=TaskQuery(list_id=lst.id, parent_id="null")
            )
            for t in top.items:
                steps = await tasks.list_tasks(
                    session=s, user_id=user, query=TaskQuery(parent_id=t.id)
                )
                out.append((lst.name, t.title, tuple(x.title for x in steps.items)))
    return out


async def test_export_then_import_into_an_empty_data_folder_is_exact(tmp_path):
    engine, maker = await _open(tmp_path, "one")
    async with maker() as s:
        travel = await lists.create_list(
            session=s, user_id=USER, data=ListCreate(name="Travel", emoji="🧳", color="#112233")
        )
        work = await lists.create_list(session=s, user_id=USER, data=ListCreate(name="Work"))
        await lists.update_list(
            session=s, user_id=USER, list_id=work.id, data=ListUpdate(archived=True)
        )
        trip = await tasks.create_task(
            session=s, user_id=USER, data=TaskCreate(title="Trip", list_id=travel.id)
        )
        for title in ("Pack", "Book", "Insure"):
            await tasks.create_task(
                session=s, user_id=USER, data=TaskCreate(title=title, parent_id=trip.id)
            )
        loose = [
            await tasks.create_task(session=s, user_id=USER, data=TaskCreate(title=t))
            for t in ("a", "b", "c")
        ]
        await lists.move_task(
            session=s, user_id=USER, task_id=loose[2].id, data=TaskMove(before_id=loose[0].id)
        )
    before = await _dump(maker)
    order = await _order(maker)
    assert order == [
        ("Inbox", "c", ()),
        ("Inbox", "a", ()),
        ("Inbox", "b", ()),
        ("Travel", "Trip", ("Pack", "Book", "Insure")),
    ]
    await engine.dispose()

    engine2, maker2 = await _open(tmp_path, "two")
    async with maker2() as s:
        report = await export.import_data(s, user_id=USER, data=json.loads(json.dumps(before)))
    assert report.lists["inserted"] == 3 and report.inserted["tasks"] == 7
    assert await _dump(maker2) == before
    assert await _order(maker2) == order
    async with maker2() as s:  # a second import changes nothing
        again = await export.import_data(s, user_id=USER, data=before)
    assert again.changed == 0
    await engine2.dispose()


async def test_an_export_without_lists_lands_in_the_inbox(tmp_path):
    engine, maker = await _open(tmp_path, "old")
    data = {
        "format": "taskchat-export",
        "version": 1,
        "tasks": [
            {"id": f"t{i}", "title": f"old {i}", "created_at": f"2026-01-0{i}T00:00:00+00:00"}
            for i in (1, 2, 3)
        ],
        "threads": [],
        "links": [],
    }
    async with maker() as s:
        await export.import_data(s, user_id=USER, data=data)
    assert await _order(maker) == [("Inbox", f"old {i}", ()) for i in (1, 2, 3)]
    bad = {**data, "lists": [{"id": "x", "name": "", "color": "#000000"}]}
    async with maker() as s:
        with pytest.raises(export.InvalidInput, match="invalid list"):
            await export.import_data(s, user_id=USER, data=bad)
    await engine.dispose()


async def test_legacy_import_puts_old_tasks_in_the_inbox(settings, tmp_path):
    src = legacy_sqlite(tmp_path / "web.db")
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    await import_legacy(engine, str(src), local_user="me")
    order = await _order(create_sessionmaker(engine), user="me")
    await engine.dispose()
    assert sorted(order) == [("Inbox", "Buy milk", ()), ("Inbox", "File taxes", ())]


# --------------------------------------------------------------------------- sync


@pytest.fixture
async def devices(tmp_path, pg_database):
    async with device_maker(tmp_path, pg_database, USER) as make:
        yield make


async def _sync(*devs: Device) -> None:
    # Three rounds: a fix one device makes after a pull (repair) reaches the other on
    # its next push.
    for _ in range(3):
        for d in devs:
            await d.run()


@pytest.mark.postgres
async def test_concurrent_reorders_and_moves_converge_with_nothing_lost(devices):
    a, b = await devices("dev-a"), await devices("dev-b")
    async with a.sessionmaker() as s:
        trip = await lists.create_list(session=s, user_id=USER, data=ListCreate(name="Trip"))
        ids = [
            (await tasks.create_task(session=s, user_id=USER, data=TaskCreate(title=f"t{i}"))).id
            for i in range(8)
        ]
    await _sync(a, b)
    # Offline on both: A reorders and moves some to Trip; B reorders the same tasks in
    # the Inbox, nests one under another and moves one to Trip as well.
    async with a.sessionmaker() as s:
        await lists.move_task(
            session=s, user_id=USER, task_id=ids[7], data=TaskMove(before_id=ids[0])
        )
        await lists.move_tasks(session=s, user_id=USER, task_ids=ids[2:4], list_id=trip.id)
        await lists.move_task(
            session=s, user_id=USER, task_id=ids[5], data=TaskMove(after_id=ids[0])
        )
    async with b.sessionmaker() as s:
        await lists.move_task(session=s, user_id=USER, task_id=ids[0], data=TaskMove())
        await lists.move_task(
            session=s, user_id=USER, task_id=ids[3], data=TaskMove(parent_id=ids[1])
        )
        await lists.move_task(
            session=s, user_id=USER, task_id=ids[7], data=TaskMove(after_id=ids[4])
        )
        await lists.move_tasks(session=s, user_id=USER, task_ids=[ids[6]], list_id=trip.id)
    await _sync(a, b)
    order_a, order_b = await _order(a.sessionmaker), await _order(b.sessionmaker)
    assert order_a == order_b
    titles = [t for _, t, _ in order_a] + [x for *_, steps in order_a for x in steps]
    assert sorted(titles) == sorted(f"t{i}" for i in range(8))  # none lost or doubled
    assert await a.tasks() == await b.tasks()
    assert await a.table("task_list", ("name", "position")) == await b.table(
        "task_list", ("name", "position")
    )


@pytest.mark.postgres
async def test_rename_a_list_on_one_device_and_move_a_task_on_another(devices):
    a, b = await devices("dev-a"), await devices("dev-b")
    async with a.sessionmaker() as s:
        trip = await lists.create_list(session=s, user_id=USER, data=ListCreate(name="Trip"))
        task = await tasks.create_task(session=s, user_id=USER, data=TaskCreate(title="Pack"))
    await _sync(a, b)
    async with a.sessionmaker() as s:
        await lists.update_list(
            session=s, user_id=USER, list_id=trip.id, data=ListUpdate(name="Travel")
        )
    async with b.sessionmaker() as s:
        await lists.move_task(
            session=s, user_id=USER, task_id=task.id, data=TaskMove(list_id=trip.id)
        )
    await _sync(a, b)
    for d in (a, b):
        assert await _order(d.sessionmaker) == [("Travel", "Pack", ())]


@pytest.mark.postgres
async def test_a_task_moved_into_a_list_deleted_elsewhere_goes_to_the_inbox(devices):
    a, b = await devices("dev-a"), await devices("dev-b")
    async with a.sessionmaker() as s:
        old = await lists.create_list(session=s, user_id=USER, data=ListCreate(name="Old"))
        task = await tasks.create_task(session=s, user_id=USER, data=TaskCreate(title="Keep me"))
        parent = await tasks.create_task(session=s, user_id=USER, data=TaskCreate(title="P"))
    await _sync(a, b)
    async with a.sessionmaker() as s:
        await lists.delete_list(session=s, user_id=USER, list_id=old.id)
        await tasks.delete_task(session=s, user_id=USER, task_id=parent.id)
    async with b.sessionmaker() as s:
        await lists.move_task(
            session=s, user_id=USER, task_id=task.id, data=TaskMove(list_id=old.id)
        )
        step = await tasks.create_task(
            session=s, user_id=USER, data=TaskCreate(title="step", parent_id=parent.id)
        )
    await _sync(a, b)
    for d in (a, b):
        assert sorted(await _order(d.sessionmaker)) == [
            ("Inbox", "Keep me", ()),
            ("Inbox", "step", ()),
        ]
    assert (await a.tasks())[step.id]["list_id"] == inbox_id(USER)


@pytest.mark.postgres
async def test_a_device_that_makes_its_inbox_later_keeps_the_inbox_as_the_person_set_it(
    devices,
):
    a, b = await devices("dev-a"), await devices("dev-b")
    async with a.sessionmaker() as s:
        await tasks.create_task(session=s, user_id=USER, data=TaskCreate(title="on A"))
        await lists.update_list(
            session=s,
            user_id=USER,
            list_id=inbox_id(USER),
            data=ListUpdate(color="#112233", emoji="📥"),
        )
    await _sync(a)
    # B makes its own Inbox (its first task) only now, after A's edit, offline.
    async with b.sessionmaker() as s:
        await tasks.create_task(session=s, user_id=USER, data=TaskCreate(title="on B"))
    await _sync(a, b)
    for d in (a, b):
        inbox = (await d.table("task_list", ("name", "color", "emoji")))[inbox_id(USER)]
        assert inbox == {"name": "Inbox", "color": "#112233", "emoji": "📥"}, d.name


@pytest.mark.postgres
async def test_an_inbox_edited_as_it_is_made_keeps_the_edit(devices):
    a, b = await devices("dev-a"), await devices("dev-b")
    async with b.sessionmaker() as s:
        await tasks.create_task(session=s, user_id=USER, data=TaskCreate(title="on B"))
    # A's very first write: the Inbox is made and recoloured in one transaction.
    async with a.sessionmaker() as s:
        await lists.update_list(
            session=s, user_id=USER, list_id=inbox_id(USER), data=ListUpdate(color="#445566")
        )
    await _sync(b, a)
    for d in (a, b):
        inbox = (await d.table("task_list", ("color",)))[inbox_id(USER)]
        assert inbox == {"color": "#445566"}, d.name
