"""The security layer in front of every request (pure ASGI, outermost):

1. Host check (DNS rebinding): only 127.0.0.1 / localhost / [::1] on the bound port.
2. Origin check (CSRF): a state-changing request, or any /api request, whose Origin (or
   Sec-Fetch-Site) says it comes from another site is refused. No CORS is offered.
3. Launch: `GET /?launch=TOKEN` trades a one-time launch token for the session cookie.
4. Sessions: every /api route except /api/health needs a valid session JWT (Bearer or
   cookie); its `sub` becomes request.state.user_id. Cookies past half-life are renewed.
5. Security headers (CSP, nosniff, no-referrer, DENY framing, …) on every response.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import parse_qs

from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response
from app.security.sessions import SessionManager, TokenError

log = logging.getLogger(__name__)

COOKIE_BASE_NAME = "taskchat_session"
PUBLIC_API_PATHS = frozenset({"/api/health"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CHATKIT_CDN = "https://cdn.platform.openai.com"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' {CHATKIT_CDN}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob: {CHATKIT_CDN}",
        f"font-src 'self' data: {CHATKIT_CDN}",
        f"connect-src 'self' {CHATKIT_CDN}",
        f"frame-src {CHATKIT_CDN}",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# FastAPI's /api/docs page loads Swagger UI from jsDelivr; only that page may.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def cookie_name(port: int | None) -> str:
    """Cookies ignore ports, so each server port gets its own cookie name."""
    return f"{COOKIE_BASE_NAME}_{port}" if port else COOKIE_BASE_NAME


def split_host(value: str) -> tuple[str, str | None]:
    """("127.0.0.1", "8000") from "127.0.0.1:8000"; ("[::1]", None) from "[::1]"."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return value, None
        host, rest = value[: end + 1], value[end + 1 :]
        if not rest:
            return host, None
        return (host, rest[1:]) if rest.startswith(":") else (value, None)
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, port
    return value, None


def is_api_path(path: str) -> bool:
    return path.lstrip("/").lower().startswith("api")


def _wants_html(scope: Scope) -> bool:
    accept = _header(scope, b"accept") or ""
    return "text/html" in accept


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


_LAUNCH_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>TaskChat - link not valid</title></head>
<body style="font-family:system-ui;max-width:36rem;margin:4rem auto;line-height:1.5">
<h1>This TaskChat link can't be used</h1><p>{reason}</p>
<p>Start TaskChat again (or run <code>taskchat serve</code>) to get a fresh link.
Each link works once, for one minute.</p></body></html>"""

_LAUNCH_REASONS = {
    "expired": "The link has expired: launch links are valid for 60 seconds.",
    "used": "The link was already used (or is not from this TaskChat session). "
    "Launch links work only once.",
    "invalid": "The link is not valid for this TaskChat.",
}


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, sessions: SessionManager) -> None:
        self.app = app
        self.sessions = sessions

    # ----------------------------------------------------------------- entry
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        state = getattr(scope.get("app"), "state", None)
        bound_port: int | None = getattr(state, "bound_port", None)
        bound_host: str | None = getattr(state, "bound_host", None)
        extra_headers: list[tuple[str, str]] = []
        send = self._with_headers(send, path, extra_headers)

        host = _header(scope, b"host")
        if host is None or not self._host_allowed(host, bound_port, bound_host):
            log.warning("refused a request for a foreign Host header")
            await error_response(
                403,
                "forbidden_host",
                "This address is not TaskChat's: requests must go to 127.0.0.1 or "
                "localhost on TaskChat's own port.",
            )(scope, receive, send)
            return

        if "\x00" in path:
            # No file or route has a NUL in its name; refused here, before any handler (a
            # path lookup raised ValueError: a 500 and ~5 KB of traceback per request).
            await error_response(400, "bad_request", "Invalid characters in the address.")(
                scope, receive, send
            )
            return

        method = scope.get("method", "GET").upper()
        if not self._origin_allowed(scope, host, method, path):
            log.warning("refused a cross-origin %s request", method)
            await error_response(
                403,
                "forbidden_origin",
                "Requests from other websites are not allowed.",
            )(scope, receive, send)
            return

        # GET only: a HEAD (link preview, prefetch check) must not spend the one-time token.
        if path == "/" and method == "GET":
            token = _launch_param(scope)
            if token is not None:
                await self._launch(token, bound_port)(scope, receive, send)
                return

        if is_api_path(path) and path not in PUBLIC_API_PATHS:
            session, from_cookie, problem = self._authenticate(scope, bound_port)
            if session is None:
                message = {
                    "expired": "Your session has expired. Reopen TaskChat to sign in again.",
                    "missing": "Sign-in required: open TaskChat from its launch link.",
                }.get(problem, "Your session is not valid. Reopen TaskChat to sign in again.")
                await error_response(401, "unauthorized", message)(scope, receive, send)
                return
            scope.setdefault("state", {})["user_id"] = session.user_id
            if from_cookie and session.past_half_life():
                extra_headers.append(("set-cookie", self._cookie(session.user_id, bound_port)))
        await self.app(scope, receive, send)

    # ---------------------------------------------------------------- checks
    @staticmethod
    def _host_allowed(value: str, bound_port: int | None, bound_host: str | None) -> bool:
        host, port = split_host(value)
        allowed = set(LOOPBACK_HOSTS)
        if bound_host:
            allowed.add(f"[{bound_host.lower()}]" if ":" in bound_host else bound_host.lower())
        if host not in allowed:
            return False
        if bound_port is None:
            return port is None or port.isdigit()
        if port is None:
            return bound_port == 80
        return port == str(bound_port)

    @staticmethod
    def _origin_allowed(scope: Scope, host: str, method: str, path: str) -> bool:
        checked = method in UNSAFE_METHODS or is_api_path(path)
        if not checked:
            return True
        fetch_site = (_header(scope, b"sec-fetch-site") or "").lower()
        if fetch_site in ("cross-site", "same-site"):
            return False
        origin = _header(scope, b"origin")
        if origin is None:
            return True  # not a browser cross-origin request (curl, the desktop shell)
        scheme = scope.get("scheme", "http")
        return origin.strip().lower() == f"{scheme}://{host.strip().lower()}"

    def _authenticate(self, scope: Scope, bound_port: int | None):
        authorization = _header(scope, b"authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None, False, "invalid"
            return self._verify(token.strip(), from_cookie=False)
        cookies = cookie_parser(_header(scope, b"cookie") or "")
        cookie = cookies.get(cookie_name(bound_port))
        if not cookie:
            return None, False, "missing"
        return self._verify(cookie, from_cookie=True)

    def _verify(self, token: str, *, from_cookie: bool):
        try:
            return self.sessions.verify_session(token), from_cookie, ""
        except TokenError as exc:
            return None, from_cookie, str(exc)

    # ---------------------------------------------------------------- launch
    def _launch(self, token: str, bound_port: int | None):
        try:
            user_id = self.sessions.redeem_launch_token(token)
        except TokenError as exc:
            reason = str(exc)
            log.warning("refused a launch token (%s)", reason)
            return _LaunchRefused(reason)
        response = RedirectResponse("/", status_code=303)
        response.headers.append("set-cookie", self._cookie(user_id, bound_port))
        response.headers["cache-control"] = "no-store"
        log.info("launch token exchanged for a session")
        return response

    def _cookie(self, user_id: str, bound_port: int | None) -> str:
        token = self.sessions.mint_session_token(user_id)
        max_age = int(self.sessions.session_seconds)
        return (
            f"{cookie_name(bound_port)}={token}; Max-Age={max_age}; Path=/; "
            "HttpOnly; SameSite=Strict"
        )

    # --------------------------------------------------------------- headers
    @staticmethod
    def _with_headers(send: Send, path: str, extra: list[tuple[str, str]]) -> Send:
        api = is_api_path(path)
        csp = _DOCS_CSP if path == "/api/docs" else CONTENT_SECURITY_POLICY

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if "content-security-policy" not in headers:
                    headers["content-security-policy"] = csp
                if api and "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
                for name, value in extra:
                    headers.append(name, value)
            await send(message)

        return wrapped


def _launch_param(scope: Scope) -> str | None:
    query = scope.get("query_string", b"").decode("latin-1")
    if "launch" not in query:
        return None
    values = parse_qs(query, keep_blank_values=True).get("launch")
    return values[0] if values else None


class _LaunchRefused:
    """401 for a bad launch token: a readable page for browsers, the error shape for others."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        text = _LAUNCH_REASONS.get(self.reason, _LAUNCH_REASONS["invalid"])
        response: HTMLResponse | JSONResponse
        if _wants_html(scope):
            response = HTMLResponse(_LAUNCH_PAGE.format(reason=html.escape(text)), status_code=401)
        else:
            response = error_response(401, "unauthorized", text)
        response.headers["cache-control"] = "no-store"
        await response(scope, receive, send)
