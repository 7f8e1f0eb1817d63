"""The FastAPI application factory: wires settings, database, routes and the UI."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__, updates
from app.api import health, settings_routes, update_routes
from app.api.errors import install_error_handlers
from app.api.limits import BodySizeLimit
from app.chat import routes as chat_routes
from app.config import Settings, get_settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.export import routes as export_routes
from app.export.service import IMPORT_MAX_BYTES
from app.lists import routes as list_routes
from app.logging_setup import setup_logging
from app.profile import local_user_id
from app.reminders import routes as reminder_routes
from app.reminders.notices import NoticeBoard
from app.reminders.notifier import DesktopNotifier
from app.reminders.scheduler import ReminderScheduler
from app.search import routes as search_routes
from app.security.install import install_chat_limits, install_security
from app.sync import routes as sync_routes
from app.sync.runtime import build_sync_service
from app.tasks import routes as task_routes
from app.tasks.recurrence import local_zone
from app.webui import mount_webui

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    setup_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        await migrate.upgrade(engine)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        sync, app.state.sync_off_reason = build_sync_service(
            settings, engine, app.state.local_user_id
        )
        app.state.sync = sync
        if sync is not None:
            await sync.start()
        reminders = None
        if settings.reminders:
            reminders = ReminderScheduler(
                engine=engine,
                sessionmaker=app.state.sessionmaker,
                user_id=app.state.local_user_id,
                zone=lambda: local_zone(settings.timezone),
                notifier=DesktopNotifier(),
                board=app.state.reminder_notices,
            )
            await reminders.start()
        app.state.reminders = reminders
        # Last: these threads would otherwise slow the start-up steps above (one GIL).
        app.state.sessions.warm_up()  # the keyring's signing secret, before the UI asks
        chat_routes.warm_up(app)
        app.state.updates = updates.UpdateChecker(settings)
        app.state.updates.start()  # a background task: never delays the start
        try:
            yield
        finally:
            # Replies cut off by the shutdown are stored (as when their client goes away)
            # while the database is still open.
            chat = getattr(app.state, "chat_server", None)
            if chat is not None:
                await chat.close()
            await app.state.updates.stop()
            if reminders is not None:
                await reminders.stop()
            if sync is not None:
                await sync.stop()
            # Disposing closes every pooled connection, so SQLite's WAL is checkpointed.
            await engine.dispose()

    app = FastAPI(
        title="TaskChat",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.local_user_id = local_user_id(settings)
    app.state.reminder_notices = NoticeBoard()
    install_error_handlers(app)
    install_chat_limits(app, settings)  # innermost: sees the body after the size limit
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        path_limits={"/api/import": IMPORT_MAX_BYTES},
    )
    # Outermost: Host/Origin checks, launch tokens, sessions, security headers; also sets
    # app.state.mint_session_token / mint_launch_token.
    install_security(app, settings)
    app.include_router(settings_routes.router)
    app.include_router(health.router)
    app.include_router(list_routes.router)  # before task_routes: /api/tasks/move
    app.include_router(task_routes.router)
    app.include_router(sync_routes.router)
    app.include_router(chat_routes.router)
    app.include_router(search_routes.router)
    app.include_router(export_routes.router)
    app.include_router(update_routes.router)
    app.include_router(reminder_routes.router)
    mount_webui(app, settings)
    return app
