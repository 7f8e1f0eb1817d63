"""Alembic migrations: from an empty database, idempotent re-runs, upgrades keep data."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys

from alembic.script import ScriptDirectory
from sqlalchemy import text

from app.db import migrate
from app.db.engine import create_engine


def revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def table_names(path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


async def test_upgrade_from_empty_creates_schema(settings):
    engine = create_engine(settings)
    assert await migrate.current_revision(engine) is None
    await migrate.upgrade(engine)
    assert await migrate.current_revision(engine) == migrate.head_revision()
    await engine.dispose()
    names = table_names(settings.sqlite_path)
    assert {"task", "task_fts", "alembic_version", "task_fts_ai"} <= names


async def test_rerunning_migrations_is_a_no_op(settings):
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO task (id, user_id, title, description, priority, completed, "
                "due_all_day, tags, created_at, updated_at) VALUES ('t1', 'u', 'keep', '', 'none', "
                "0, 0, '[]', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    before = table_names(settings.sqlite_path)
    await migrate.upgrade(engine)
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, title FROM task"))).all()
    await engine.dispose()
    assert rows == [("t1", "keep")]
    assert table_names(settings.sqlite_path) == before


async def test_every_upgrade_step_keeps_existing_tasks(settings):
    """Data written at the first revision survives every later migration up to head."""
    revisions = revisions_oldest_first()
    engine = create_engine(settings)
    await migrate.upgrade(engine, revisions[0])
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO task (id, user_id, title, description, priority, completed, "
                "due_all_day, tags, created_at, updated_at) VALUES ('old', 'u', 'From v1', 'd', "
                "'high', 1, 1, '[\"a\"]', '2026-01-01 00:00:00', '2026-01-02 00:00:00')"
            )
        )
    for revision in revisions[1:]:
        await migrate.upgrade(engine, revision)
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT title, description, priority, completed, tags FROM task "
                        "WHERE id = 'old'"
                    )
                )
            ).one()
        assert tuple(row) == ("From v1", "d", "high", 1, '["a"]'), revision
    await engine.dispose()


async def test_app_start_migrates_automatically(app, settings):
    async with app.state.engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == migrate.head_revision()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    async with app.state.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000


def test_data_dir_is_private(app, settings):
    assert settings.data_dir.stat().st_mode & 0o777 == 0o700


def test_head_revision_constant_is_alembics_head():
    # app start-up compares the stored revision with this constant instead of loading Alembic.
    assert migrate.HEAD_REVISION == migrate.head_revision()


async def test_database_behind_head_is_still_upgraded(settings):
    revisions = revisions_oldest_first()
    engine = create_engine(settings)
    await migrate.upgrade(engine, revisions[-2])
    assert await migrate.stored_revision(engine) == revisions[-2]
    await migrate.upgrade(engine)
    assert await migrate.stored_revision(engine) == migrate.HEAD_REVISION
    await engine.dispose()
    assert "search_doc" in table_names(settings.sqlite_path)


def test_start_at_head_does_not_load_alembic(settings):
    """A database already at head is checked with one query; Alembic stays unimported."""

    async def migrate_once() -> None:
        engine = create_engine(settings)
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate_once())
    script = (
        "import asyncio, sys\n"
        "from app.config import get_settings\n"
        "from app.db import migrate\n"
        "from app.db.engine import create_engine\n"
        "engine = create_engine(get_settings())\n"
        "asyncio.run(migrate.upgrade(engine))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "TASKCHAT_DATA_DIR": str(settings.data_dir)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == "[]"


def test_first_launch_log_says_what_migrated_and_no_more(settings):
    # A process of its own: Alembic sets its plugins up (and says so) once per process.
    script = (
        "import asyncio\n"
        "from app.config import get_settings\n"
        "from app.db import migrate\n"
        "from app.db.engine import create_engine\n"
        "from app.logging_setup import setup_logging\n"
        "print(setup_logging(get_settings()))\n"
        "asyncio.run(migrate.upgrade(create_engine(get_settings())))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "TASKCHAT_DATA_DIR": str(settings.data_dir)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    logged = open(out.strip(), encoding="utf-8").read()
    assert f"Running upgrade  -> {revisions_oldest_first()[0]}" in logged
    assert "setup plugin" not in logged  # Alembic's own bookkeeping
