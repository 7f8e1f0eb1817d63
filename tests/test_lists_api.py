"""REST contract for lists, subtasks, views and ordering (/api/lists, /api/tasks)."""

from __future__ import annotations

import pytest


async def create(client, **fields):
    r = await client.post("/api/tasks", json={"title": "t", **fields})
    assert r.status_code == 201, r.text
    return r.json()


async def test_inbox_is_always_listed_and_a_new_list_has_an_id(client):
    r = await client.get("/api/lists")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [x["name"] for x in items] == ["Inbox"] and items[0]["is_inbox"] is True
    r = await client.post("/api/lists", json={"name": "Travel", "emoji": "🧳"})
    assert r.status_code == 201, r.text
    travel = r.json()
    assert travel["id"] and travel["name"] == "Travel" and travel["emoji"] == "🧳"
    names = [x["name"] for x in (await client.get("/api/lists")).json()["items"]]
    assert names == ["Inbox", "Travel"]


async def test_task_json_has_list_and_parent_and_filters_take_them(client):
    inbox = (await client.get("/api/lists")).json()["items"][0]["id"]
    travel = (await client.post("/api/lists", json={"name": "Travel"})).json()["id"]
    loose = await create(client, title="loose")
    assert loose["list_id"] == inbox and loose["parent_id"] is None
    trip = await create(client, title="trip", list_id=travel)
    step = await create(client, title="pack", parent_id=trip["id"])
    assert step["list_id"] == travel and step["parent_id"] == trip["id"]
    r = await client.get("/api/tasks", params={"list_id": travel, "parent_id": "null"})
    assert [t["title"] for t in r.json()["items"]] == ["trip"]
    assert r.json()["items"][0]["subtasks_total"] == 1
    r = await client.get("/api/tasks", params={"parent_id": trip["id"]})
    assert [t["title"] for t in r.json()["items"]] == ["pack"]
    r = await client.patch(f"/api/tasks/{loose['id']}", json={"list_id": travel})
    assert r.status_code == 200 and r.json()["list_id"] == travel
    r = await client.patch(f"/api/tasks/{step['id']}", json={"parent_id": None})
    assert r.json()["parent_id"] is None and r.json()["list_id"] == travel


async def test_views_today_and_upcoming(client):
    await create(client, title="long ago", due="2020-01-01")
    await create(client, title="far ahead", due="2099-01-01")
    await create(client, title="no date")
    r = await client.get("/api/tasks", params={"view": "today"})
    assert [t["title"] for t in r.json()["items"]] == ["long ago"]
    r = await client.get("/api/tasks", params={"view": "upcoming"})
    assert [t["title"] for t in r.json()["items"]] == ["far ahead"]


async def test_reorder_and_move_endpoints(client):
    a, b, c = [await create(client, title=n) for n in "abc"]
    r = await client.post(f"/api/tasks/{c['id']}/move", json={"before_id": a["id"]})
    assert r.status_code == 200, r.text
    inbox = a["list_id"]
    r = await client.get("/api/tasks", params={"list_id": inbox})
    assert [t["title"] for t in r.json()["items"]] == ["c", "a", "b"]
    travel = (await client.post("/api/lists", json={"name": "Travel"})).json()["id"]
    r = await client.post(
        "/api/tasks/move", json={"task_ids": [a["id"], b["id"]], "list_id": travel}
    )
    assert r.status_code == 200 and len(r.json()["succeeded"]) == 2
    r = await client.get("/api/tasks", params={"list_id": travel})
    assert [t["title"] for t in r.json()["items"]] == ["a", "b"]


async def test_delete_list_with_undo(client):
    travel = (await client.post("/api/lists", json={"name": "Travel"})).json()["id"]
    await create(client, title="t", list_id=travel)
    r = await client.delete(f"/api/lists/{travel}", params={"tasks": "delete_tasks"})
    assert r.status_code == 200 and r.json()["tasks_deleted"] == 1
    assert (await client.get("/api/tasks")).json()["total"] == 0
    r = await client.post(f"/api/tasks/undo/{r.json()['change_id']}")
    assert r.status_code == 200, r.text
    assert (await client.get("/api/tasks", params={"list_id": travel})).json()["total"] == 1
    assert (await client.get(f"/api/lists/{travel}")).status_code == 200


async def test_completing_a_parent_with_open_steps_is_a_409_naming_them(client):
    parent = await create(client, title="move house")
    await create(client, title="book van", parent_id=parent["id"])
    r = await client.post(f"/api/tasks/{parent['id']}/complete")
    assert r.status_code == 409 and "book van" in r.json()["error"]["message"]
    r = await client.patch(f"/api/tasks/{parent['id']}", json={"completed": True})
    assert r.status_code == 409
    r = await client.post(f"/api/tasks/{parent['id']}/complete", json={"subtasks": "complete"})
    assert r.status_code == 200 and r.json()["subtasks_done"] == 1


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("post", "/api/lists", {"name": ""}, 422),
        ("post", "/api/lists", {"name": "x" * 81}, 422),
        ("post", "/api/lists", {"name": "x", "color": "red"}, 422),
        ("post", "/api/lists", {"name": "x", "owner": "y"}, 422),
        ("post", "/api/lists", {"name": "Inbox"}, 409),
        ("post", "/api/tasks", {"title": "x", "list_id": "nope"}, 404),
        ("post", "/api/tasks", {"title": "x", "parent_id": "nope"}, 404),
        ("post", "/api/tasks", {"title": "x", "list_id": "x" * 37}, 422),
        ("post", "/api/tasks", {"title": "x", "list_id": 5}, 422),
        ("get", "/api/tasks?view=tomorrow", None, 422),
        ("get", "/api/tasks?parent_id=" + "p" * 40, None, 422),
        ("delete", "/api/lists/nope", None, 404),
        ("post", "/api/tasks/move", {"task_ids": [], "list_id": "x"}, 422),
        ("post", "/api/tasks/nope/move", {}, 404),
        ("patch", "/api/lists/nope", {"name": None}, 422),
    ],
)
async def test_hostile_input_is_a_4xx_in_the_error_shape(client, method, url, body, status):
    kwargs = {"json": body} if body is not None else {}
    r = await getattr(client, method)(url, **kwargs)
    assert r.status_code == status, r.text
    assert set(r.json()["error"]) >= {"code", "message"}


async def test_another_users_lists_are_invisible(app, client):
    from tests.conftest import auth_headers

    travel = (await client.post("/api/lists", json={"name": "Travel"})).json()["id"]
    r = await client.get(f"/api/lists/{travel}", headers=auth_headers(app, "someone-else"))
    assert r.status_code in (401, 404)
