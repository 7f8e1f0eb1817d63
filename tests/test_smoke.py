"""Smoke test: the app starts in a fresh data folder and answers /api/health."""


async def test_health(client):
    r = await client.get("/api/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
