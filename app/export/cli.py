"""`taskchat export [--out PATH] [--zip]` and `taskchat import PATH`, with a progress bar."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from app.config import Settings
from app.errors import DomainError


def add_export_parsers(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser(
        "export", help="write your tasks and conversations as JSON + Markdown (or one zip)"
    )
    export.add_argument(
        "--out",
        type=Path,
        help="folder to write (default ./taskchat-export-DATE), or with --zip the zip file",
    )
    export.add_argument("--zip", action="store_true", help="write one .zip file")
    export.add_argument(
        "--ics",
        action="store_true",
        help="write your tasks as one iCalendar file (VTODO with due, repeat, alarm) to --out",
    )
    imp = sub.add_parser(
        "import", help="merge an export (zip or export.json) into your data; safe to repeat"
    )
    imp.add_argument("path", type=Path, help="a TaskChat export: .zip, export.json or its folder")


async def _run(settings: Settings, body: Any) -> Any:
    # on use: app/cli.py imports this module on every start, for its parser
    from app.db import migrate
    from app.db.engine import create_engine, create_sessionmaker

    engine = create_engine(settings)
    try:
        await migrate.upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            return await body(session)
    finally:
        await engine.dispose()


class _Bar:
    """A rich progress bar on stderr (plain when not a terminal)."""

    def __init__(self, label: str) -> None:
        # rich only for this command's progress bar
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.task = self.progress.add_task(label, total=None)

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=max(total, 1))


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    # on use: app/cli.py imports this module on every start, for its parser
    from app.export import service
    from app.profile import local_user_id

    user_id = local_user_id(settings)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if args.ics:
        return _export_ics(args, settings, user_id, stamp)
    with _Bar("Exporting") as bar:
        data = asyncio.run(
            _run(
                settings,
                lambda s: service.export_data(
                    s, user_id=user_id, secrets=service.known_secrets(settings), progress=bar
                ),
            )
        )
    if args.zip:
        out = args.out or Path(f"taskchat-export-{stamp}.zip")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(service.zip_bytes(data))
    else:
        out = args.out or Path(f"taskchat-export-{stamp}")
        for name, body in service.export_files(data):
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
    print(
        f"Exported {len(data['tasks'])} tasks and {len(data['threads'])} conversations to {out}",
        flush=True,
    )
    return 0


def _export_ics(args: argparse.Namespace, settings: Settings, user_id: str, stamp: str) -> int:
    from app.export import ics, service

    if args.zip:
        print("Choose --ics or --zip, not both.", flush=True)
        return 2
    body = asyncio.run(
        _run(
            settings,
            lambda s: ics.export_ics(s, user_id=user_id, secrets=service.known_secrets(settings)),
        )
    )
    out: Path = args.out or Path(f"taskchat-{stamp}.ics")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(body)
    count = body.count(b"BEGIN:VTODO")
    print(f"Exported {count} tasks as a calendar to {out}", flush=True)
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    # on use: app/cli.py imports this module on every start, for its parser
    from app.export import service
    from app.profile import local_user_id

    path: Path = args.path
    if path.is_dir():
        path = path / service.JSON_NAME
    try:
        if path.stat().st_size > service.MAX_IMPORT_BYTES:
            print(f"Import failed: {service._too_large(path.stat().st_size)}", flush=True)
            return 1
        raw = path.read_bytes()
    except OSError as exc:
        print(f"Cannot read {args.path}: {exc.strerror or exc}", flush=True)
        return 2
    user_id = local_user_id(settings)
    try:
        data = service.load_payload(raw)
        with _Bar("Importing") as bar:
            report = asyncio.run(
                _run(
                    settings,
                    lambda s: service.import_data(s, user_id=user_id, data=data, progress=bar),
                )
            )
    except DomainError as exc:
        print(f"Import failed: {exc.message}", flush=True)
        return 1
    summary = report.as_dict()
    print(
        "Imported: "
        + json.dumps(summary["inserted"])
        + " new, "
        + json.dumps(summary["updated"])
        + f" updated, {summary['skipped']} skipped"
        + (" (nothing changed)" if report.changed == 0 else ""),
        flush=True,
    )
    if report.skipped:
        print(report.summary(), flush=True)
        for problem in report.problems:
            print(f"  - {problem}", flush=True)
    return 0
