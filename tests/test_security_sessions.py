"""Session JWTs and one-time launch tokens: what is accepted and what is refused."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx
import jwt
import pytest

from app.security.middleware import cookie_name
from app.security.sessions import ISSUER, SessionManager


def bare_client(app, **kwargs) -> httpx.AsyncClient:
    """A client with no session at all."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", **kwargs
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def craft(secret: bytes, **overrides) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "typ": "session",
        "sub": "someone",
        "iat": now,
        "exp": now + 600,
        "jti": secrets.token_urlsafe(8),
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, secret, algorithm="HS256")


# ---------------------------------------------------------------------- API access


async def test_health_and_ui_need_no_session(app):
    async with bare_client(app) as c:
        assert (await c.get("/api/health")).status_code == 200
        r = await c.get("/")
        assert r.status_code == 200
        assert "text/html" in r.headers["content-type"]


@pytest.mark.parametrize(
    "path", ["/api/tasks", "/api/settings", "/api/openapi.json", "/api/docs", "/api/chatkit"]
)
async def test_api_without_session_is_401(app, path):
    async with bare_client(app) as c:
        r = await c.get(path)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


async def test_post_without_session_is_401_and_writes_nothing(app, client):
    async with bare_client(app) as c:
        r = await c.post("/api/tasks", json={"title": "sneaky"})
    assert r.status_code == 401
    assert (await client.get("/api/tasks")).json()["total"] == 0


async def test_valid_bearer_session_works(app, client):
    r = await client.post("/api/tasks", json={"title": "mine"})
    assert r.status_code == 201


async def test_expired_token_is_401(app):
    token = app.state.sessions.mint_session_token(ttl=-30)
    async with bare_client(app) as c:
        r = await c.get("/api/tasks", headers=bearer(token))
    assert r.status_code == 401
    assert "expired" in r.json()["error"]["message"]


async def test_token_signed_with_another_secret_is_401(app):
    other = SessionManager(secrets.token_bytes(32), session_seconds=600, default_user_id="x")
    async with bare_client(app) as c:
        r = await c.get("/api/tasks", headers=bearer(other.mint_session_token()))
    assert r.status_code == 401


async def test_forged_tokens_are_401(app):
    good = app.state.mint_session_token()
    header, payload, sig = good.split(".")
    # A payload changed after signing (another user's id) keeps the old signature.
    forged_payload = jwt.utils.base64url_encode(
        b'{"iss":"taskchat-local","typ":"session","sub":"victim","iat":1,'
        b'"exp":9999999999,"jti":"x"}'
    ).decode()
    unsigned = jwt.encode(
        {"iss": ISSUER, "typ": "session", "sub": "x", "iat": 1, "exp": 9999999999, "jti": "j"},
        key=None,
        algorithm="none",
    )
    candidates = [
        f"{header}.{forged_payload}.{sig}",  # tampered payload
        unsigned,  # alg=none
        f"{header}.{payload}.",  # signature stripped
        good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),  # corrupted signature
        "not-a-jwt",
    ]
    async with bare_client(app) as c:
        for token in candidates:
            r = await c.get("/api/tasks", headers=bearer(token))
            assert r.status_code == 401, token


async def test_wrong_claims_are_401(app):
    secret = app.state.sessions.signing_secret()
    tokens = [
        craft(secret, typ="launch"),  # a launch-type JWT is not a session
        craft(secret, typ=None),
        craft(secret, iss="someone-else"),
        craft(secret, sub=None),
        craft(secret, exp=None),
        craft(secret, jti=None),
    ]
    async with bare_client(app) as c:
        for token in tokens:
            assert (await c.get("/api/tasks", headers=bearer(token))).status_code == 401


async def test_other_auth_schemes_are_401(app):
    token = app.state.mint_session_token()
    async with bare_client(app) as c:
        for value in (f"Basic {token}", "Bearer ", token):
            r = await c.get("/api/tasks", headers={"Authorization": value})
            assert r.status_code == 401


async def test_bad_bearer_does_not_fall_back_to_cookie(app):
    token = app.state.mint_session_token()
    async with bare_client(app, cookies={cookie_name(None): token}) as c:
        assert (await c.get("/api/tasks")).status_code == 200
        r = await c.get("/api/tasks", headers=bearer("garbage"))
        assert r.status_code == 401


async def test_token_subject_scopes_the_data(app):
    alice, bob = "alice-id", "bob-id"
    async with bare_client(app, headers=bearer(app.state.mint_session_token(alice))) as a:
        assert (await a.post("/api/tasks", json={"title": "alice's"})).status_code == 201
        task_id = (await a.get("/api/tasks")).json()["items"][0]["id"]
    async with bare_client(app, headers=bearer(app.state.mint_session_token(bob))) as b:
        assert (await b.get("/api/tasks")).json()["total"] == 0
        assert (await b.get(f"/api/tasks/{task_id}")).status_code == 404
        assert (await b.delete(f"/api/tasks/{task_id}")).status_code == 404


# ------------------------------------------------------------------------- launch


async def test_launch_token_sets_cookie_and_redirects(app):
    token = app.state.mint_launch_token()
    async with bare_client(app) as c:
        r = await c.get(f"/?launch={token}")
        assert r.status_code == 303
        assert r.headers["location"] == "/"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{cookie_name(None)}=")
        lowered = cookie.lower()
        assert "httponly" in lowered
        assert "samesite=strict" in lowered
        assert "path=/" in lowered
        assert "max-age=" in lowered
        # The cookie is a session for the local profile.
        session = app.state.sessions.verify_session(c.cookies[cookie_name(None)])
        assert session.user_id == app.state.local_user_id
        assert (await c.get("/api/tasks")).status_code == 200


async def test_launch_token_works_once(app):
    token = app.state.mint_launch_token()
    async with bare_client(app) as c:
        assert (await c.get(f"/?launch={token}")).status_code == 303
    async with bare_client(app) as c:
        r = await c.get(f"/?launch={token}")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
        assert "already used" in r.json()["error"]["message"]
        assert "set-cookie" not in r.headers
        # Browsers get a readable page instead of JSON.
        page = await c.get(f"/?launch={token}", headers={"Accept": "text/html"})
        assert page.status_code == 401
        assert "text/html" in page.headers["content-type"]
        assert "already used" in page.text
        assert token not in page.text


async def test_head_request_does_not_spend_the_launch_token(app):
    token = app.state.mint_launch_token()
    async with bare_client(app) as c:
        r = await c.head(f"/?launch={token}")
        assert "set-cookie" not in r.headers
        assert (await c.get(f"/?launch={token}")).status_code == 303


async def test_expired_launch_token_is_refused(app):
    token = app.state.mint_launch_token(ttl=-1)
    async with bare_client(app) as c:
        r = await c.get(f"/?launch={token}")
    assert r.status_code == 401
    assert "expired" in r.json()["error"]["message"]


async def test_launch_token_expires_after_its_ttl(app):
    token = app.state.mint_launch_token(ttl=1)
    await asyncio.sleep(1.1)
    async with bare_client(app) as c:
        assert (await c.get(f"/?launch={token}")).status_code == 401


async def test_unknown_or_session_token_is_not_a_launch_token(app):
    async with bare_client(app) as c:
        for token in (secrets.token_urlsafe(32), app.state.mint_session_token(), ""):
            r = await c.get("/", params={"launch": token})
            assert r.status_code == 401
            assert "set-cookie" not in r.headers


async def test_launch_token_from_another_process_is_refused(app, settings):
    """A token printed by an earlier run (same data folder) does not work after restart."""
    from app.main import create_app

    other = create_app(settings)
    token = other.state.mint_launch_token()
    async with bare_client(app) as c:
        assert (await c.get(f"/?launch={token}")).status_code == 401


async def test_default_launch_ttl_is_60_seconds(app):
    token = app.state.mint_launch_token()
    until, _user = app.state.sessions._pending_launch[
        __import__("app.security.sessions", fromlist=["_digest"])._digest(token)
    ]
    assert 55 <= until - time.time() <= 61


# ------------------------------------------------------------------------ renewal


async def test_cookie_past_half_life_is_renewed(app):
    sessions = app.state.sessions
    now = int(time.time())
    total = int(sessions.session_seconds)
    old = craft(
        sessions.signing_secret(),
        sub=app.state.local_user_id,
        iat=now - total // 2 - 10,
        exp=now + 60,
    )
    async with bare_client(app, cookies={cookie_name(None): old}) as c:
        r = await c.get("/api/tasks")
        assert r.status_code == 200
        renewed = r.headers.get("set-cookie", "")
        assert renewed.startswith(f"{cookie_name(None)}=")
        new_token = renewed.split(";", 1)[0].split("=", 1)[1]
        fresh = sessions.verify_session(new_token)
        assert fresh.expires_at >= now + total - 5
        assert fresh.user_id == app.state.local_user_id


async def test_fresh_cookie_is_not_reissued(app):
    token = app.state.mint_session_token()
    async with bare_client(app, cookies={cookie_name(None): token}) as c:
        r = await c.get("/api/tasks")
    assert r.status_code == 200
    assert "set-cookie" not in r.headers


async def test_session_secret_persists_per_install(settings):
    """Tokens survive a restart (same data folder), not a different install."""
    from app.main import create_app
    from app.profile import local_user_id

    first = create_app(settings)
    token = first.state.mint_session_token()
    second = create_app(settings)
    assert second.state.sessions.verify_session(token).user_id == local_user_id(settings)
    secret_file = settings.data_dir / "session-secret.key"
    assert secret_file.stat().st_mode & 0o777 == 0o600
