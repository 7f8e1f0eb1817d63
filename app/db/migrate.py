"""Applies Alembic migrations (app/migrations) to an engine at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:  # Alembic is imported only when there is migrating to do (see upgrade).
    from alembic.config import Config
    from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# The newest revision in app/migrations/versions. tests/test_migrations.py checks that it
# is Alembic's head, so a new migration without this line changed fails the suite.
HEAD_REVISION = "0010_sync_graveyard"


def alembic_config(connection: Connection | None = None) -> Config:
    # Alembic loads only when the database is not at head (+7 MiB that stays, README).
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


async def stored_revision(engine: AsyncEngine) -> str | None:
    """The revision recorded in `alembic_version`, read with one plain query.

    None for a database that was never migrated. Start-up asks this first: importing
    Alembic (with Mako and Pygments) costs ~150-200 ms, on every launch, for the usual
    answer "already at head".
    """
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    except DBAPIError:  # no such table yet
        return None
    return rows[0][0] if len(rows) == 1 else None


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    if revision in ("head", HEAD_REVISION) and await stored_revision(engine) == HEAD_REVISION:
        return
    from alembic import command  # on use: see alembic_config

    async with engine.begin() as conn:
        await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    from alembic import command  # on use: see alembic_config

    async with engine.begin() as conn:
        await conn.run_sync(
            lambda sync_conn: command.downgrade(alembic_config(sync_conn), revision)
        )


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # on use: see alembic_config

    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory  # on use: see alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
