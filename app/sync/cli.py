"""`taskchat sync` and `taskchat import-legacy`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from app.config import Settings
from app.errors import DomainError


def add_sync_parsers(sub: argparse._SubParsersAction) -> None:
    sync = sub.add_parser(
        "sync",
        help="sync now with the sync database (or set/clear its URL, show status)",
    )
    group = sync.add_mutually_exclusive_group()
    group.add_argument(
        "--set-url",
        action="store_true",
        help="store the sync URL (postgresql://...) in the OS keyring; asks for it "
        "without echoing, or reads standard input",
    )
    group.add_argument("--clear-url", action="store_true", help="forget the stored sync URL")
    group.add_argument("--status", action="store_true", help="show sync status, do not sync")
    legacy = sub.add_parser(
        "import-legacy",
        help="import tasks and conversations from the TaskChat web app's database",
    )
    legacy.add_argument("source", help="path to a SQLite file, or a postgresql:// URL")
    legacy.add_argument(
        "--user",
        help="import only this legacy user id (default: every user of the legacy database)",
    )


def _print(line: str = "") -> None:
    print(line, flush=True)


async def _with_engine(settings: Settings, body):
    # on use: app/cli.py imports this module on every start, for its parser
    from app.db import migrate
    from app.db.engine import create_engine

    engine = create_engine(settings)
    try:
        await migrate.upgrade(engine)
        return await body(engine)
    finally:
        await engine.dispose()


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    # on use: app/cli.py imports this module on every start, for its parser
    from app.profile import local_user_id
    from app.sync import settings as sync_settings
    from app.sync.runtime import build_sync_service

    try:
        if args.set_url:
            raw = (
                getpass.getpass("Sync URL (input hidden): ")
                if sys.stdin.isatty()
                else sys.stdin.readline()
            )
            sync_settings.store_sync_url(settings, raw)
            _print(f"Sync URL stored for {sync_settings.describe_url(raw.strip())}.")
            return 0
        if args.clear_url:
            sync_settings.clear_sync_url(settings)
            _print("Stored sync URL removed.")
            return 0
    except DomainError as exc:
        print(exc.message, file=sys.stderr)
        return 1

    user_id = local_user_id(settings)

    async def body(engine: Any) -> int:
        service, reason = build_sync_service(settings, engine, user_id)
        if service is None:
            print(reason, file=sys.stderr)
            return 2
        try:
            if args.status:
                await service.open()
                status = await service.get_status()
                _print(f"Sync database: {status['target']}")
                _print(f"Pending local changes: {status['pending_changes']}")
                return 0
            try:
                result = await service.run_once()
            except Exception:
                print(service.status.last_error, file=sys.stderr)
                return 1
            _print(
                f"Synced with {service.target}: pushed {result.pushed}, pulled "
                f"{result.pulled} ({result.applied} applied) in {result.seconds:.2f} s."
            )
            return 0
        finally:
            await service.stop()

    return asyncio.run(_with_engine(settings, body))


def cmd_import_legacy(args: argparse.Namespace, settings: Settings) -> int:
    # on use: app/cli.py imports this module on every start, for its parser
    from app.profile import local_user_id
    from app.sync.legacy import import_legacy

    user_id = local_user_id(settings)

    async def body(engine: Any) -> int:
        try:
            report = await import_legacy(
                engine, args.source, local_user=user_id, only_user=args.user
            )
        except (OSError, ValueError, DomainError) as exc:
            print(f"Import failed: {getattr(exc, 'message', exc)}", file=sys.stderr)
            return 1
        _print(report.summary())
        return 0

    return asyncio.run(_with_engine(settings, body))
