"""Loopback hardening: Host (DNS rebinding), Origin (CSRF), no CORS, security headers."""

from __future__ import annotations

import http.client

import httpx
import pytest

from app.security.middleware import split_host
from tests.conftest import auth_headers


def raw_request(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A request with exactly these headers (httpx would rewrite Host)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


# -------------------------------------------------------------------------- Host


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1.nip.io:{port}",
        "localhost.:{port}",
        "127.0.0.2:{port}",
        "0.0.0.0:{port}",
        "[::ffff:127.0.0.1]:{port}",
        "127.0.0.1:{other}",
        "localhost:{other}",
        "127.0.0.1",  # no port: the server is not on port 80
    ],
)
def test_live_server_refuses_foreign_host(live_server, host):
    value = host.format(port=live_server.port, other=live_server.port + 1)
    headers = {"Host": value, **live_server.headers()}
    for path in ("/api/health", "/api/tasks", "/"):
        status, hdrs, body = raw_request(live_server.port, "GET", path, headers)
        assert status == 403, (value, path)
        assert b"forbidden_host" in body
        assert hdrs["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_live_server_accepts_its_own_host(live_server, host):
    headers = {"Host": host.format(port=live_server.port), **live_server.headers()}
    status, _, _ = raw_request(live_server.port, "GET", "/api/tasks", headers)
    assert status == 200


def test_live_server_refuses_missing_host(live_server):
    status, _, _ = raw_request(live_server.port, "GET", "/api/health", {})
    assert status in (400, 403)  # uvicorn/h11 may refuse an HTTP/1.1 request without Host


async def test_in_process_accepts_loopback_names_with_any_port(app):
    for base in ("http://127.0.0.1", "http://localhost:1234", "http://[::1]:8080"):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base) as c:
            assert (await c.get("/api/health")).status_code == 200, base


async def test_in_process_refuses_other_names(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://attacker.test") as c:
        r = await c.get("/api/health")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden_host"


def test_split_host():
    assert split_host("127.0.0.1:80") == ("127.0.0.1", "80")
    assert split_host("[::1]:5") == ("[::1]", "5")
    assert split_host("[::1]") == ("[::1]", None)
    assert split_host("LocalHost") == ("localhost", None)
    assert split_host("[::1]junk")[1] is None


# ------------------------------------------------------------------------ Origin


async def test_cross_origin_post_is_refused(client):
    for origin in (
        "http://evil.example",
        "http://127.0.0.1:9999",  # another local server: same site, other origin
        "https://127.0.0.1",
        "null",
    ):
        r = await client.post("/api/tasks", json={"title": "csrf"}, headers={"Origin": origin})
        assert r.status_code == 403, origin
        assert r.json()["error"]["code"] == "forbidden_origin"
    assert (await client.get("/api/tasks")).json()["total"] == 0


async def test_cross_origin_is_refused_for_every_unsafe_method(client):
    created = await client.post("/api/tasks", json={"title": "keep me"})
    task_id = created.json()["id"]
    evil = {"Origin": "http://evil.example"}
    assert (
        await client.patch(f"/api/tasks/{task_id}", json={"title": "x"}, headers=evil)
    ).status_code == 403
    assert (await client.delete(f"/api/tasks/{task_id}", headers=evil)).status_code == 403
    r = await client.put("/api/settings", json={"model": "evil"}, headers=evil)
    assert r.status_code == 403
    r = await client.delete("/api/settings/gemini-key", headers=evil)
    assert r.status_code == 403
    assert (await client.get(f"/api/tasks/{task_id}")).json()["title"] == "keep me"


async def test_same_origin_post_works(client):
    r = await client.post(
        "/api/tasks", json={"title": "same origin"}, headers={"Origin": "http://127.0.0.1"}
    )
    assert r.status_code == 201


async def test_post_without_origin_works(client):
    assert (await client.post("/api/tasks", json={"title": "cli"})).status_code == 201


async def test_sec_fetch_site_cross_site_is_refused(client):
    for site in ("cross-site", "same-site"):
        r = await client.post("/api/tasks", json={"title": "x"}, headers={"Sec-Fetch-Site": site})
        assert r.status_code == 403
    r = await client.post(
        "/api/tasks", json={"title": "ok"}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert r.status_code == 201


async def test_cross_origin_read_of_api_is_refused(client):
    r = await client.get("/api/tasks", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403


def test_live_server_origin_must_match_port(live_server):
    own = f"http://127.0.0.1:{live_server.port}"
    base = {
        "Host": f"127.0.0.1:{live_server.port}",
        "Content-Type": "application/json",
        **live_server.headers(),
    }
    body = b'{"title": "t"}'
    status, _, _ = raw_request(
        live_server.port, "POST", "/api/tasks", {**base, "Origin": own}, body
    )
    assert status == 201
    other = f"http://127.0.0.1:{live_server.port + 1}"
    status, _, _ = raw_request(
        live_server.port, "POST", "/api/tasks", {**base, "Origin": other}, body
    )
    assert status == 403


async def test_no_cors(client):
    r = await client.options(
        "/api/tasks",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code >= 400
    assert not any(h.lower().startswith("access-control-") for h in r.headers)
    r = await client.get("/api/tasks")
    assert "access-control-allow-origin" not in r.headers


# ----------------------------------------------------------------------- headers


async def test_security_headers_on_ui_and_api(app, client):
    for path in ("/", "/api/health", "/api/tasks", "/no-such-page"):
        r = await client.get(path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self' https://cdn.platform.openai.com" in csp
        assert "frame-src https://cdn.platform.openai.com" in csp
        assert "connect-src 'self' https://cdn.platform.openai.com" in csp
        assert "'unsafe-eval'" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-frame-options"] == "DENY"


async def test_security_headers_on_errors_and_redirects(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        for r in (
            await c.get("/api/tasks"),  # 401
            await c.get(f"/?launch={app.state.mint_launch_token()}"),  # 303
            await c.get("/?launch=nope"),  # 401
        ):
            assert "content-security-policy" in r.headers
            assert r.headers["referrer-policy"] == "no-referrer"


async def test_api_responses_are_not_cached(client):
    r = await client.get("/api/settings")
    assert r.headers["cache-control"] == "no-store"


async def test_conftest_hook_signs_tests_in(app):
    assert auth_headers(app)["Authorization"].startswith("Bearer ")


async def test_launch_url_flow_on_the_live_server(live_server):
    """The URL `taskchat serve` prints, opened once, gives a per-port session cookie."""
    from app.server import launch_url

    url = launch_url(live_server.app, "127.0.0.1", live_server.port)
    async with httpx.AsyncClient() as c:
        r = await c.get(url)
        assert r.status_code == 303
        name = f"taskchat_session_{live_server.port}"
        assert name in c.cookies
        assert (await c.get(f"{live_server.url}/api/tasks")).status_code == 200
        assert (await c.get(url)).status_code == 401
    async with httpx.AsyncClient() as fresh:
        assert (await fresh.get(f"{live_server.url}/api/tasks")).status_code == 401
