"""Wires the security layer into the app: sessions, middleware, limits."""

from __future__ import annotations

from fastapi import FastAPI

from app.config import Settings
from app.security.keystore import load_signing_secret
from app.security.limits import UsageLimiter
from app.security.middleware import SecurityMiddleware
from app.security.sessions import SessionManager


def install_chat_limits(app: FastAPI, settings: Settings) -> None:
    """The chat limiter the chat route checks as a dependency (app/chat/routes.py)."""
    app.state.usage_limiter = UsageLimiter(settings)


def install_security(app: FastAPI, settings: Settings) -> SessionManager:
    """Call after every other middleware: the security layer must be the outermost."""
    sessions = SessionManager(
        lambda: load_signing_secret(settings),  # loaded by sessions.warm_up (lifespan)
        session_seconds=settings.session_minutes * 60,
        default_user_id=app.state.local_user_id,
    )
    app.state.sessions = sessions
    app.state.mint_session_token = sessions.mint_session_token
    app.state.mint_launch_token = sessions.mint_launch_token
    app.add_middleware(SecurityMiddleware, sessions=sessions)
    return sessions
