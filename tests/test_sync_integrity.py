"""Sync loses nothing: deterministic three-device scripts for issue 23's findings 9-12."""

from __future__ import annotations

import pytest

from tests.sync_util import Device

pytestmark = pytest.mark.postgres
USER = "user-integrity"


@pytest.fixture
async def devices(tmp_path, pg_database):
    made: list[Device] = []

    async def make(*names: str) -> list[Device]:
        for name in names:
            made.append(await Device(tmp_path, name, USER, pg_database).open())
        return made[-len(names) :]

    yield make
    for d in made:
        await d.close()


async def sync_all(*ds: Device, rounds: int = 2) -> None:
    for _ in range(rounds):
        for d in ds:
            await d.run()


async def test_revived_task_keeps_the_later_edit_everywhere(devices):
    """Finding 9: C edits then deletes; A (not yet told) edits later and revives it."""
    a, b, c = await devices("dev-a", "dev-b", "dev-c")
    t = await a.create(title="orig")
    await sync_all(a, b, c)
    await c.update(t.id, title="title-from-C")
    await c.delete(t.id)
    await a.update(t.id, title="title-from-A")
    await c.run()
    await a.run()
    await sync_all(b, c, a)
    titles = {d.name: (await d.tasks()).get(t.id, {}).get("title") for d in (a, b, c)}
    print(titles)
    assert set(titles.values()) == {"title-from-A"}, titles
