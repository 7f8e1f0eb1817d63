"""Task service on a real SQLite file: filters, sorting, paging, bulk ops and user scoping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.errors import InvalidInput, NotFound
from app.tasks import service
from app.tasks.models import TaskCreate, TaskQuery, TaskUpdate

ALICE = "user-alice"
BOB = "user-bob"


async def add(session, user=ALICE, **fields):
    return await service.create_task(
        session=session, user_id=user, data=TaskCreate(title=fields.pop("title", "t"), **fields)
    )


async def titles(session, user=ALICE, **query):
    page = await service.list_tasks(session=session, user_id=user, query=TaskQuery(**query))
    return [t.title for t in page.items]


@pytest.fixture
async def sample(db_session):
    s = db_session
    await add(s, title="Buy milk", tags=["groceries"], priority="high", due="2026-11-25")
    await add(s, title="Buy bread", tags=["groceries", "bakery"], priority="low")
    await add(
        s,
        title="Renew passport",
        description="bring old passport photo",
        priority="medium",
        due="2026-12-04T09:00:00Z",
        tags=["admin"],
    )
    await add(s, title="Call mum", completed=True, due="2026-11-20")
    await add(s, title="Pay rent", priority="high", due="2026-12-01", tags=["money"])
    return s


async def test_filter_completed(sample):
    assert await titles(sample, completed=True) == ["Call mum"]
    assert "Call mum" not in await titles(sample, completed=False)
    assert len(await titles(sample, completed=False)) == 4


async def test_filter_priority(sample):
    assert sorted(await titles(sample, priority="high")) == ["Buy milk", "Pay rent"]
    assert await titles(sample, priority="none") == ["Call mum"]


async def test_filter_tag_is_exact_and_case_insensitive(sample):
    assert sorted(await titles(sample, tag="Groceries")) == ["Buy bread", "Buy milk"]
    assert await titles(sample, tag="#bakery") == ["Buy bread"]
    assert await titles(sample, tag="grocer") == []  # no partial tag matches


async def test_filter_due_before_and_after(sample):
    assert sorted(await titles(sample, due_before="2026-12-01")) == ["Buy milk", "Call mum"]
    assert sorted(await titles(sample, due_after="2026-12-01")) == ["Pay rent", "Renew passport"]
    window = await titles(sample, due_after="2026-11-21", due_before="2026-12-04T10:00:00Z")
    assert sorted(window) == ["Buy milk", "Pay rent", "Renew passport"]


async def test_text_search_title_and_description_prefix(sample):
    assert sorted(await titles(sample, q="buy")) == ["Buy bread", "Buy milk"]
    assert await titles(sample, q="photo") == ["Renew passport"]  # description
    assert await titles(sample, q="pass ren") == ["Renew passport"]  # all words, prefixes
    assert await titles(sample, q="zebra") == []


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "milk OR bread",
        "milk*",
        "NEAR(a b)",
        "'; DROP TABLE task;--",
        "title:milk",
        "-milk",
        "%",
        "_",
    ],
)
async def test_text_search_treats_syntax_as_text(sample, q):
    result = await titles(sample, q=q)  # must not raise or match everything
    assert len(result) <= 2
    assert len(await titles(sample)) == 5


async def test_search_combines_with_filters(sample):
    assert await titles(sample, q="buy", priority="low") == ["Buy bread"]


async def test_search_sees_edits_and_deletes(sample):
    milk = (
        await service.list_tasks(session=sample, user_id=ALICE, query=TaskQuery(q="milk"))
    ).items[0]
    await service.update_task(
        session=sample, user_id=ALICE, task_id=milk.id, data=TaskUpdate(title="Buy oat drink")
    )
    assert await titles(sample, q="milk") == []
    assert await titles(sample, q="oat") == ["Buy oat drink"]
    await service.delete_task(session=sample, user_id=ALICE, task_id=milk.id)
    assert await titles(sample, q="oat") == []


async def test_sort_orders(sample):
    assert await titles(sample, sort="title") == [
        "Buy bread",
        "Buy milk",
        "Call mum",
        "Pay rent",
        "Renew passport",
    ]
    assert (await titles(sample, sort="-title"))[0] == "Renew passport"
    # due ascending, undated last
    assert await titles(sample, sort="due") == [
        "Call mum",
        "Buy milk",
        "Pay rent",
        "Renew passport",
        "Buy bread",
    ]
    by_priority = await titles(sample, sort="-priority")
    assert set(by_priority[:2]) == {"Buy milk", "Pay rent"}
    assert by_priority[2] == "Renew passport" and by_priority[3] == "Buy bread"
    assert (await titles(sample, sort="-created_at"))[0] == "Pay rent"
    assert (await titles(sample, sort="created_at"))[0] == "Buy milk"
    # smart: open first by due date, undated open after dated, completed last
    assert await titles(sample, sort="smart") == [
        "Buy milk",
        "Pay rent",
        "Renew passport",
        "Buy bread",
        "Call mum",
    ]


async def test_sort_updated_at(sample):
    first = (
        await service.list_tasks(session=sample, user_id=ALICE, query=TaskQuery(sort="created_at"))
    ).items[0]
    await service.update_task(
        session=sample, user_id=ALICE, task_id=first.id, data=TaskUpdate(description="touched")
    )
    assert (await titles(sample, sort="-updated_at"))[0] == first.title


async def test_pagination_is_stable_and_complete(db_session):
    for i in range(23):
        await add(db_session, title=f"task {i:02d}")
    seen = []
    for offset in range(0, 30, 10):
        page = await service.list_tasks(
            session=db_session,
            user_id=ALICE,
            query=TaskQuery(limit=10, offset=offset, sort="title"),
        )
        assert page.total == 23
        seen += [t.title for t in page.items]
    assert seen == [f"task {i:02d}" for i in range(23)]


async def test_bulk_complete_reports_unknown_ids_and_changes_nothing_else(sample):
    page = await service.list_tasks(session=sample, user_id=ALICE, query=TaskQuery(q="buy"))
    ids = [t.id for t in page.items]
    bob_task = await add(sample, user=BOB, title="Bob's")
    result = await service.bulk_complete(
        session=sample, user_id=ALICE, task_ids=[*ids, "missing-1", bob_task.id, ids[0]]
    )
    assert result.succeeded == ids
    assert result.not_found == ["missing-1", bob_task.id]
    assert sorted(await titles(sample, completed=True)) == ["Buy bread", "Buy milk", "Call mum"]
    bob_after = await service.get_task(session=sample, user_id=BOB, task_id=bob_task.id)
    assert bob_after.completed is False
    reopened = await service.bulk_complete(
        session=sample, user_id=ALICE, task_ids=ids, completed=False
    )
    assert reopened.succeeded == ids
    assert await titles(sample, completed=True) == ["Call mum"]


async def test_bulk_delete_reports_unknown_ids_and_keeps_the_rest(sample):
    page = await service.list_tasks(session=sample, user_id=ALICE, query=TaskQuery(tag="groceries"))
    ids = [t.id for t in page.items]
    bob_task = await add(sample, user=BOB, title="Bob's")
    result = await service.bulk_delete(
        session=sample, user_id=ALICE, task_ids=[ids[0], "nope", bob_task.id, ids[1]]
    )
    assert result.succeeded == [ids[0], ids[1]]
    assert result.not_found == ["nope", bob_task.id]
    assert sorted(await titles(sample)) == ["Call mum", "Pay rent", "Renew passport"]
    assert await titles(sample, user=BOB) == ["Bob's"]


async def test_bulk_rejects_empty_and_huge_lists(db_session):
    with pytest.raises(InvalidInput):
        await service.bulk_delete(session=db_session, user_id=ALICE, task_ids=[])
    with pytest.raises(InvalidInput):
        await service.bulk_complete(
            session=db_session, user_id=ALICE, task_ids=[str(i) for i in range(501)]
        )


async def test_users_never_see_each_others_tasks(sample):
    bob_task = await add(sample, user=BOB, title="Bob's secret milk")
    assert await titles(sample, user=BOB) == ["Bob's secret milk"]
    assert "Bob's secret milk" not in await titles(sample, q="milk")
    for call in (
        service.get_task(session=sample, user_id=ALICE, task_id=bob_task.id),
        service.update_task(
            session=sample, user_id=ALICE, task_id=bob_task.id, data=TaskUpdate(title="hijacked")
        ),
        service.set_completed(session=sample, user_id=ALICE, task_id=bob_task.id),
        service.delete_task(session=sample, user_id=ALICE, task_id=bob_task.id),
    ):
        with pytest.raises(NotFound):
            await call
    still = await service.get_task(session=sample, user_id=BOB, task_id=bob_task.id)
    assert still.title == "Bob's secret milk" and still.completed is False


async def test_timestamps_are_utc_aware(db_session):
    task = await add(db_session)
    assert task.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - task.created_at).total_seconds()) < 60
    fetched = await service.get_task(session=db_session, user_id=ALICE, task_id=task.id)
    assert fetched.created_at == task.created_at


async def test_search_totals_count_only_this_users_matches(sample):
    await add(sample, user=BOB, title="Bob buys milk")
    for query in ({"q": "buy"}, {"q": "buy", "priority": "low"}, {"q": "pass"}, {"q": "zzz"}):
        page = await service.list_tasks(session=sample, user_id=ALICE, query=TaskQuery(**query))
        assert page.total == len(page.items), query
    bob = await service.list_tasks(session=sample, user_id=BOB, query=TaskQuery(q="milk"))
    assert (bob.total, [t.title for t in bob.items]) == (1, ["Bob buys milk"])


def test_task_data_columns_are_the_tables_columns_but_id_and_owner():
    from app.tasks.models import TASK_DATA_COLUMNS, Task

    columns = {c.name for c in Task.__table__.columns} - {"id", "user_id"}
    assert set(TASK_DATA_COLUMNS) == columns
