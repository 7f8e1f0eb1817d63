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
    sync.add_argument(
        "action",
        nargs="?",
        choices=("setup", "devices", "leave"),
        help="setup: start a sync space (or join one with --join), no files to edit; "
        "devices: list the devices of the space; leave: stop syncing on this device",
    )
    sync.add_argument(
        "--join",
        action="store_true",
        help="with setup: join an existing space (asks for the pairing code)",
    )
    sync.add_argument("--code", help="with setup: the pairing code to join with")
    sync.add_argument("--name", help="with setup: this device's name (default: host name)")
    sync.add_argument(
        "--plaintext-file",
        action="store_true",
        help="with setup: if no OS keyring works, keep the URL and key in an UNENCRYPTED "
        "file in the data folder",
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


def _ask(prompt: str, *, hidden: bool) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt) if hidden else input(prompt)
    return sys.stdin.readline()


def cmd_sync_setup(args: argparse.Namespace, settings: Settings) -> int:
    from app.profile import local_user_id
    from app.sync import settings as sync_settings
    from app.sync import spaces

    url = _ask("Sync database URL (from Neon: Connect > connection string; hidden): ", hidden=True)
    code = args.code
    if args.join and not code:
        code = _ask("Pairing code (shown on the device that started the space): ", hidden=False)
    user_id = local_user_id(settings)

    async def body(engine: Any) -> int:
        common: dict[str, Any] = {
            "settings": settings,
            "engine": engine,
            "url": url.strip(),
            "user_id": user_id,
            "device_id": sync_settings.device_id(settings),
            "device_name": args.name,
            "allow_plaintext_file": args.plaintext_file,
        }
        if code:
            result = await spaces.join_space(code=code, **common)
        else:
            result = await spaces.start_space(**common)
        if result.code:
            _print(f"Started a sync space on {result.target}, end-to-end encrypted.")
            _print("")
            _print(f"  Pairing code:  {result.code}")
            _print("")
            _print("On your other device: Settings > Sync > Join, paste the same URL and")
            _print("type this code (or run `taskchat sync setup --join`). Keep the code")
            _print(
                f"somewhere safe: it is the only key to your synced data ({result.recovery_hint})."
            )
        else:
            kept = sum(result.kept.values())
            _print(f"Joined the sync space on {result.target}; {kept} rows of this device kept.")
        if result.secrets == "file":
            _print("The URL and key are stored UNENCRYPTED in the data folder (no keyring).")
        _print("Restart TaskChat if it is open on this device.")
        return 0

    try:
        return asyncio.run(_with_engine(settings, body))
    except DomainError as exc:
        print(exc.message, file=sys.stderr)
        return 1


def cmd_sync_space(args: argparse.Namespace, settings: Settings) -> int:
    from app.sync import settings as sync_settings
    from app.sync import spaces

    url, _source = sync_settings.load_sync_url(settings)
    cipher = spaces.cipher_for(settings)
    if args.action == "leave":
        asyncio.run(
            spaces.leave_space(
                settings=settings, url=url, key_code=sync_settings.load_sync_key(settings)
            )
        )
        _print("This device no longer syncs. Its data stays here.")
        return 0
    if not url or cipher is None:
        print("This device is not in a sync space (`taskchat sync setup`).", file=sys.stderr)
        return 2
    try:
        found = asyncio.run(
            spaces.devices(url=url, cipher=cipher, this_device=sync_settings.device_id(settings))
        )
    except DomainError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    for d in found:
        mark = " (this device)" if d["this_device"] else ""
        gone = " - removed" if d["removed"] else ""
        _print(f"{d['name']}{mark}: last seen {d['last_seen']}{gone}  [{d['id']}]")
    return 0


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    # on use: app/cli.py imports this module on every start, for its parser
    from app.profile import local_user_id
    from app.sync import settings as sync_settings
    from app.sync.runtime import build_sync_service

    if getattr(args, "action", None) == "setup":
        return cmd_sync_setup(args, settings)
    if getattr(args, "action", None) in ("devices", "leave"):
        return cmd_sync_space(args, settings)
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
                _print(
                    "End-to-end encrypted sync space"
                    if status["encrypted"]
                    else "Unencrypted format (run `taskchat sync setup` to encrypt)"
                )
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
