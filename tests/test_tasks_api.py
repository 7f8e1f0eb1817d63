"""REST API for tasks: validation messages, error shape, CRUD round trips."""

from __future__ import annotations

import pytest


async def create(client, **fields):
    r = await client.post("/api/tasks", json={"title": "t", **fields})
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_returns_every_field(client):
    body = await create(
        client,
        title="  Renew passport  ",
        description="at the office",
        priority="high",
        due="2026-12-04",
        tags=["#Admin", "admin", "travel"],
    )
    assert body["title"] == "Renew passport"
    assert body["description"] == "at the office"
    assert body["priority"] == "high"
    assert body["due"] == "2026-12-04"
    assert body["tags"] == ["admin", "travel"]
    assert body["completed"] is False and body["completed_at"] is None
    assert body["created_at"].endswith("Z") and body["updated_at"] == body["created_at"]
    assert len(body["id"]) == 36
    fetched = (await client.get(f"/api/tasks/{body['id']}")).json()
    assert fetched == body


async def test_due_datetime_is_stored_in_utc(client):
    body = await create(client, due="2026-12-04T09:30:00+02:00")
    assert body["due"] == "2026-12-04T07:30:00Z"


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"title": ""}, "title", "title must not be empty"),
        ({"title": "   \t "}, "title", "title must not be empty"),
        ({"title": "x" * 256}, "title", "at most 255 characters"),
        ({"title": None}, "title", "string"),
        ({"description": "d" * 2001}, "description", "at most 2000 characters"),
        ({"priority": "urgent"}, "priority", "'none', 'low', 'medium' or 'high'"),
        ({"due": "next friday"}, "due", "YYYY-MM-DD"),
        ({"due": "2026-12-04T09:30:00"}, "due", "time zone"),
        ({"due": "2026-02-30"}, "due", "YYYY-MM-DD"),
        ({"tags": "work"}, "tags", "list of strings"),
        ({"tags": ["x" * 41]}, "tags", "at most 40 characters"),
        ({"tags": ['say "hi"']}, "tags", "quotes"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags", "at most 20 tags"),
        ({"completed": "maybe"}, "completed", "boolean"),
        ({"owner": "someone"}, "owner", "Extra inputs"),
    ],
)
async def test_invalid_fields_name_the_field(client, fields, field, fragment):
    payload = {"title": "ok", **fields}
    r = await client.post("/api/tasks", json=payload)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["field"] == field
    assert fragment in error["message"]
    assert (await client.get("/api/tasks")).json()["total"] == 0


async def test_exactly_255_characters_is_accepted(client):
    assert (await create(client, title="x" * 255))["title"] == "x" * 255


async def test_patch_changes_only_given_fields(client):
    task = await create(client, title="a", priority="low", tags=["x"], due="2026-12-01")
    r = await client.patch(f"/api/tasks/{task['id']}", json={"priority": "high"})
    assert r.status_code == 200
    after = r.json()
    assert after["priority"] == "high"
    assert (after["title"], after["tags"], after["due"]) == ("a", ["x"], "2026-12-01")
    assert after["updated_at"] > task["updated_at"]
    cleared = (await client.patch(f"/api/tasks/{task['id']}", json={"due": None})).json()
    assert cleared["due"] is None


async def test_patch_rejects_null_title_and_keeps_data(client):
    task = await create(client, title="keep me")
    r = await client.patch(f"/api/tasks/{task['id']}", json={"title": None})
    assert r.status_code == 422 and r.json()["error"]["field"] == "title"
    assert (await client.get(f"/api/tasks/{task['id']}")).json()["title"] == "keep me"


async def test_complete_and_reopen(client):
    task = await create(client)
    done = (await client.post(f"/api/tasks/{task['id']}/complete")).json()
    assert done["completed"] is True and done["completed_at"] is not None
    reopened = (
        await client.post(f"/api/tasks/{task['id']}/complete", json={"completed": False})
    ).json()
    assert reopened["completed"] is False and reopened["completed_at"] is None


async def test_delete_then_404(client):
    task = await create(client)
    assert (await client.delete(f"/api/tasks/{task['id']}")).status_code == 204
    r = await client.get(f"/api/tasks/{task['id']}")
    assert r.status_code == 404
    assert r.json() == {
        "error": {"code": "not_found", "message": f"No task with id {task['id']!r}."}
    }


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("patch", ""), ("delete", ""), ("post", "/complete")],
)
async def test_unknown_id_is_404_for_every_route(client, method, suffix):
    kwargs = {"json": {"title": "x"}} if method == "patch" else {}
    r = await getattr(client, method)(f"/api/tasks/does-not-exist{suffix}", **kwargs)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_malformed_json_is_422_with_error_shape(client):
    r = await client.post(
        "/api/tasks", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "The request body is not valid JSON."


async def test_body_over_one_mib_is_413(client):
    r = await client.post("/api/tasks", json={"title": "x", "description": "d" * (1024 * 1024)})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert (await client.get("/api/tasks")).json()["total"] == 0


async def test_unknown_route_and_method_use_error_shape(client):
    r = await client.get("/api/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.put("/api/tasks")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


async def test_bad_query_parameters_are_422(client):
    for query in (
        "limit=0",
        "limit=501",
        "offset=-1",
        "sort=bogus",
        "priority=x",
        "due_before=tomorrow",
    ):
        r = await client.get(f"/api/tasks?{query}")
        assert r.status_code == 422, query
        assert r.json()["error"]["code"] == "invalid_input"


async def test_openapi_docs_are_served(client):
    assert (await client.get("/api/docs")).status_code == 200
    spec = (await client.get("/api/openapi.json")).json()
    assert "/api/tasks/{task_id}/complete" in spec["paths"]
