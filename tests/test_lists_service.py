"""Lists, subtasks, views and manual order in the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import Conflict, InvalidInput, NotFound
from app.lists import service as lists
from app.lists.models import ListCreate, ListMove, ListUpdate, TaskMove, inbox_id
from app.lists.ordering import key_between, keys_after
from app.tasks import service, undo
from app.tasks.models import TaskCreate, TaskQuery, TaskUpdate

ALICE = "user-alice"
BOB = "user-bob"


async def add(session, user=ALICE, **fields):
    return await service.create_task(
        session=session, user_id=user, data=TaskCreate(title=fields.pop("title", "t"), **fields)
    )


async def page(session, user=ALICE, **query):
    return await service.list_tasks(session=session, user_id=user, query=TaskQuery(**query))


async def titles(session, user=ALICE, **query):
    return [t.title for t in (await page(session, user, **query)).items]


async def new_list(session, name, user=ALICE, **fields):
    return await lists.create_list(
        session=session, user_id=user, data=ListCreate(name=name, **fields)
    )


async def test_inbox_is_always_there_and_new_tasks_land_in_it(db_session):
    got = await lists.list_lists(session=db_session, user_id=ALICE)
    assert [(x.name, x.is_inbox) for x in got.items] == [("Inbox", True)]
    assert got.items[0].id == inbox_id(ALICE) != inbox_id(BOB)
    task = await add(db_session, title="a")
    assert task.list_id == inbox_id(ALICE) and task.parent_id is None and task.position


async def test_lists_have_name_colour_emoji_archive_and_order(db_session):
    travel = await new_list(db_session, "Travel", color="#3B82F6", emoji="✈️")
    work = await new_list(db_session, "Work")
    assert (travel.color, travel.emoji, travel.archived) == ("#3b82f6", "✈️", False)
    names = [x.name for x in (await lists.list_lists(session=db_session, user_id=ALICE)).items]
    assert names == ["Inbox", "Travel", "Work"]
    await lists.move_list(
        session=db_session, user_id=ALICE, list_id=work.id, data=ListMove(before_id=travel.id)
    )
    await lists.update_list(
        session=db_session, user_id=ALICE, list_id=travel.id, data=ListUpdate(archived=True)
    )
    shown = await lists.list_lists(session=db_session, user_id=ALICE, include_archived=False)
    assert [x.name for x in shown.items] == ["Inbox", "Work"]
    everything = await lists.list_lists(session=db_session, user_id=ALICE)
    assert [x.name for x in everything.items] == ["Inbox", "Work", "Travel"]


async def test_list_rules(db_session):
    await new_list(db_session, "Travel")
    with pytest.raises(Conflict):
        await new_list(db_session, "travel")
    with pytest.raises(Conflict):
        await new_list(db_session, "inbox")
    inbox = inbox_id(ALICE)
    with pytest.raises(InvalidInput):
        await lists.delete_list(session=db_session, user_id=ALICE, list_id=inbox)
    with pytest.raises(InvalidInput):
        await lists.update_list(
            session=db_session, user_id=ALICE, list_id=inbox, data=ListUpdate(name="Other")
        )
    with pytest.raises(ValueError):
        ListCreate(name="x", color="blue")
    with pytest.raises(ValueError):
        ListCreate(name="   ")
    with pytest.raises(ValueError):
        ListCreate(name="x", emoji="abc")
    # Another user's list is like a missing one.
    bobs = await new_list(db_session, "Bob's", user=BOB)
    with pytest.raises(NotFound):
        await lists.get_list(session=db_session, user_id=ALICE, list_id=bobs.id)
    with pytest.raises(NotFound):
        await add(db_session, title="x", list_id=bobs.id)


async def test_delete_list_moves_tasks_to_inbox_or_deletes_them_with_undo(db_session):
    s = db_session
    first = await add(s, title="inbox task")
    trip = await new_list(s, "Trip")
    await add(s, title="a", list_id=trip.id)
    b = await add(s, title="b", list_id=trip.id)
    step = await add(s, title="b1", parent_id=b.id)
    assert step.list_id == trip.id
    result = await lists.delete_list(session=s, user_id=ALICE, list_id=trip.id)
    assert result.tasks_moved == 3 and result.tasks_deleted == 0
    inbox = inbox_id(ALICE)
    assert await titles(s, list_id=inbox, parent_id="null") == ["inbox task", "a", "b"]
    assert await titles(s, parent_id=b.id) == ["b1"]
    await undo.undo(s, ALICE, result.change_id)
    assert await titles(s, list_id=trip.id, parent_id="null") == ["a", "b"]
    assert (await lists.get_list(session=s, user_id=ALICE, list_id=trip.id)).name == "Trip"

    result = await lists.delete_list(session=s, user_id=ALICE, list_id=trip.id, mode="delete_tasks")
    assert result.tasks_deleted == 3
    assert await titles(s) == ["inbox task"]
    with pytest.raises(NotFound):
        await lists.get_list(session=s, user_id=ALICE, list_id=trip.id)
    await undo.undo(s, ALICE, result.change_id)
    assert sorted(await titles(s, list_id=trip.id)) == ["a", "b", "b1"]
    assert first.list_id == inbox


async def test_subtasks_inherit_list_count_progress_and_stay_one_level(db_session):
    s = db_session
    work = await new_list(s, "Work")
    parent = await add(s, title="plan the move", list_id=work.id)
    steps = [await add(s, title=f"step {i}", parent_id=parent.id) for i in range(5)]
    assert {x.list_id for x in steps} == {work.id}
    for step in steps[:2]:
        await service.set_completed(session=s, user_id=ALICE, task_id=step.id)
    got = await service.get_task(session=s, user_id=ALICE, task_id=parent.id)
    assert (got.subtasks_done, got.subtasks_total) == (2, 5)
    listed = (await page(s, list_id=work.id, parent_id="null")).items
    assert [(t.title, t.subtasks_done, t.subtasks_total) for t in listed] == [
        ("plan the move", 2, 5)
    ]
    assert await titles(s, parent_id=parent.id) == [f"step {i}" for i in range(5)]
    with pytest.raises(InvalidInput, match="one level"):
        await add(s, title="deeper", parent_id=steps[0].id)
    other = await add(s, title="other")
    with pytest.raises(InvalidInput, match="steps of its own"):
        await service.update_task(
            session=s, user_id=ALICE, task_id=parent.id, data=TaskUpdate(parent_id=other.id)
        )
    with pytest.raises(InvalidInput, match="itself"):
        await lists.move_task(
            session=s, user_id=ALICE, task_id=parent.id, data=TaskMove(parent_id=parent.id)
        )


async def test_completing_a_parent_with_open_steps_reports_them(db_session):
    s = db_session
    parent = await add(s, title="trip")
    await add(s, title="pack", parent_id=parent.id)
    done = await add(s, title="book", parent_id=parent.id)
    await service.set_completed(session=s, user_id=ALICE, task_id=done.id)
    with pytest.raises(Conflict, match="'pack'"):
        await service.set_completed(session=s, user_id=ALICE, task_id=parent.id)
    assert not (await service.get_task(session=s, user_id=ALICE, task_id=parent.id)).completed
    with pytest.raises(Conflict):
        await service.bulk_complete(session=s, user_id=ALICE, task_ids=[parent.id])
    await service.set_completed(session=s, user_id=ALICE, task_id=parent.id, subtasks="complete")
    assert await titles(s, parent_id=parent.id, completed=False) == []
    # Completing the parent together with its steps needs no question.
    other = await add(s, title="other")
    step = await add(s, title="o1", parent_id=other.id)
    await service.bulk_complete(session=s, user_id=ALICE, task_ids=[other.id, step.id])
    leave = await add(s, title="leave")
    await add(s, title="l1", parent_id=leave.id)
    await service.set_completed(session=s, user_id=ALICE, task_id=leave.id, subtasks="leave")
    assert await titles(s, parent_id=leave.id, completed=False) == ["l1"]


async def test_deleting_a_parent_deletes_its_steps(db_session):
    s = db_session
    parent = await add(s, title="p")
    await add(s, title="c", parent_id=parent.id)
    await service.delete_task(session=s, user_id=ALICE, task_id=parent.id)
    assert await titles(s) == []


async def test_today_and_upcoming_in_the_persons_time_zone(db_session):
    s = db_session
    # 23:30 on 4 Dec in Los Angeles is already 5 Dec in UTC.
    now = datetime(2026, 12, 5, 7, 30, tzinfo=UTC)
    zone = ZoneInfo("America/Los_Angeles")
    await add(s, title="overdue", due="2026-12-01")
    await add(s, title="today all-day", due="2026-12-04")
    await add(s, title="today 22:00 LA", due="2026-12-04T22:00:00-08:00")
    await add(s, title="tomorrow 00:30 LA", due="2026-12-05T00:30:00-08:00")
    await add(s, title="tomorrow all-day", due="2026-12-05")
    await add(s, title="in ten days", due="2026-12-14")
    await add(s, title="much later", due="2027-03-01")
    await add(s, title="undated")
    done = await add(s, title="done overdue", due="2026-12-01")
    await service.set_completed(session=s, user_id=ALICE, task_id=done.id)

    async def view(name):
        got = await service.list_tasks(
            session=s, user_id=ALICE, query=TaskQuery(view=name), zone=zone, now=now
        )
        return [t.title for t in got.items], got.total

    today, total = await view("today")
    assert sorted(today) == ["overdue", "today 22:00 LA", "today all-day"] and total == 3
    upcoming, _ = await view("upcoming")
    assert upcoming == [
        "tomorrow all-day",
        "tomorrow 00:30 LA",
        "in ten days",
        "much later",
    ]


async def test_move_task_places_it_between_siblings_with_one_key(db_session):
    s = db_session
    tasks = [await add(s, title=n) for n in "abcd"]
    a, b, c, d = tasks
    await lists.move_task(session=s, user_id=ALICE, task_id=d.id, data=TaskMove(after_id=a.id))
    assert await titles(s, list_id=inbox_id(ALICE)) == ["a", "d", "b", "c"]
    await lists.move_task(session=s, user_id=ALICE, task_id=a.id, data=TaskMove(before_id=c.id))
    assert await titles(s, list_id=inbox_id(ALICE)) == ["d", "b", "a", "c"]
    await lists.move_task(session=s, user_id=ALICE, task_id=d.id, data=TaskMove())
    assert await titles(s, list_id=inbox_id(ALICE)) == ["b", "a", "c", "d"]
    # Under a parent in another list; the step leaves the Inbox.
    trip = await new_list(s, "Trip")
    p = await add(s, title="p", list_id=trip.id)
    moved = await lists.move_task(
        session=s, user_id=ALICE, task_id=b.id, data=TaskMove(parent_id=p.id)
    )
    assert (moved.list_id, moved.parent_id) == (trip.id, p.id)
    # A parent moved to another list takes its steps along.
    await lists.move_task(
        session=s, user_id=ALICE, task_id=p.id, data=TaskMove(list_id=inbox_id(ALICE))
    )
    assert (await service.get_task(session=s, user_id=ALICE, task_id=b.id)).list_id == inbox_id(
        ALICE
    )
    with pytest.raises(InvalidInput, match="same list"):
        await lists.move_task(session=s, user_id=ALICE, task_id=c.id, data=TaskMove(after_id=b.id))


async def test_move_tasks_to_a_list_keeps_their_order_and_brings_steps(db_session):
    s = db_session
    items = [await add(s, title=f"t{i}") for i in range(6)]
    step = await add(s, title="t0.1", parent_id=items[0].id)
    travel = await new_list(s, "Travel")
    await add(s, title="already", list_id=travel.id)
    ids = [items[3].id, items[0].id, items[5].id, "missing"]
    result = await lists.move_tasks(session=s, user_id=ALICE, task_ids=ids, list_id=travel.id)
    assert result.not_found == ["missing"] and len(result.succeeded) == 3
    assert await titles(s, list_id=travel.id, parent_id="null") == ["already", "t0", "t3", "t5"]
    assert (await service.get_task(session=s, user_id=ALICE, task_id=step.id)).list_id == (
        travel.id
    )
    # A step moved without its parent becomes top-level.
    await lists.move_tasks(session=s, user_id=ALICE, task_ids=[step.id], list_id=inbox_id(ALICE))
    moved = await service.get_task(session=s, user_id=ALICE, task_id=step.id)
    assert moved.parent_id is None and moved.list_id == inbox_id(ALICE)
    with pytest.raises(NotFound):
        await lists.move_tasks(session=s, user_id=ALICE, task_ids=[step.id], list_id="nope")


async def test_patch_list_and_parent(db_session):
    s = db_session
    trip = await new_list(s, "Trip")
    t = await add(s, title="t")
    p = await add(s, title="p", list_id=trip.id)
    got = await service.update_task(
        session=s, user_id=ALICE, task_id=t.id, data=TaskUpdate(parent_id=p.id)
    )
    assert (got.list_id, got.parent_id) == (trip.id, p.id)
    got = await service.update_task(
        session=s, user_id=ALICE, task_id=t.id, data=TaskUpdate(parent_id=None)
    )
    assert (got.list_id, got.parent_id) == (trip.id, None)
    got = await service.update_task(
        session=s, user_id=ALICE, task_id=t.id, data=TaskUpdate(list_id=None)
    )
    assert got.list_id == inbox_id(ALICE)


def test_keys_are_strictly_between_and_tolerate_duplicates():
    a, b = keys_after(None, 2)
    assert a < key_between(a, b) < b
    assert key_between(a, a) > a  # two devices picked the same key
    assert key_between(None, a) < a and key_between(b, None) > b


# --------------------------------------------------------------- property: total order

moves = st.lists(
    st.tuples(
        st.integers(0, 7),  # which task
        st.sampled_from(["after", "before", "end", "list", "parent", "unparent"]),
        st.integers(0, 7),  # the other task / list
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=moves)
async def test_random_moves_keep_a_total_order_without_duplicates(db_session, ops):
    s = db_session
    user = "prop-" + str(abs(hash(tuple(ops))))[:12]
    inbox = inbox_id(user)
    other = await lists.create_list(session=s, user_id=user, data=ListCreate(name="Other"))
    list_ids = [inbox, other.id]
    tasks = [await add(s, user=user, title=f"t{i}") for i in range(8)]
    ids = [t.id for t in tasks]
    for who, kind, arg in ops:
        task = await service.get_task(session=s, user_id=user, task_id=ids[who])
        target = await service.get_task(session=s, user_id=user, task_id=ids[arg])
        data = {
            "after": TaskMove(
                list_id=target.list_id, parent_id=target.parent_id, after_id=target.id
            ),
            "before": TaskMove(
                list_id=target.list_id, parent_id=target.parent_id, before_id=target.id
            ),
            "end": TaskMove(),
            "list": TaskMove(list_id=list_ids[arg % 2]),
            "parent": TaskMove(parent_id=target.id),
            "unparent": TaskMove(parent_id=None),
        }[kind]
        try:
            await lists.move_task(session=s, user_id=user, task_id=task.id, data=data)
        except (InvalidInput, NotFound):
            await s.rollback()  # a move the rules refuse (itself, too deep): nothing changed
    every = (await page(s, user, limit=500)).items
    assert sorted(t.id for t in every) == sorted(ids)  # nothing lost or duplicated
    by_id = {t.id: t for t in every}
    for t in every:
        if t.parent_id is not None:
            parent = by_id[t.parent_id]
            assert parent.parent_id is None and parent.list_id == t.list_id
    seen: list[str] = []
    for list_id in list_ids:
        top = (await page(s, user, list_id=list_id, parent_id="null", limit=500)).items
        keys = [t.position for t in top]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)  # strict total order
        for t in top:
            seen.append(t.id)
            steps = (await page(s, user, parent_id=t.id, limit=500)).items
            step_keys = [x.position for x in steps]
            assert step_keys == sorted(step_keys) and len(set(step_keys)) == len(step_keys)
            seen.extend(x.id for x in steps)
    assert sorted(seen) == sorted(ids)
