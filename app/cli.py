"""The `taskchat` command line: window (default), serve, key, doctor, sync, export."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app import __version__, boot

if TYPE_CHECKING:
    from app.config import Settings
    from app.desktop.server_process import ServerProcess


def get_settings() -> Settings:
    # Imported on use, not at the top: a window launch starts its server before pydantic
    # (most of app.config's import time) is even loaded.
    from app.config import get_settings as settings_factory

    return settings_factory()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskchat", description="Manage your tasks by chatting with Gemini."
    )
    parser.add_argument("--version", action="version", version=f"TaskChat {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the window, check that the UI renders, print one result line and exit",
    )
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="with --self-test: save a PNG of the window to PATH",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the server without a window and print its URL")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow binding to a non-loopback address (exposes your tasks to the network)",
    )
    serve.add_argument(
        "--stdin-control",
        action="store_true",
        help="start serving after reading a 'go' line on standard input and stop when it "
        "closes (the desktop window runs its server this way)",
    )
    sub.add_parser(
        "doctor",
        help="check what this computer gives TaskChat (display, keyring, data folder, "
        "Gemini, sync) and explain any problem",
    )
    # on use: each command loads only its own modules (the window never loads the server)
    from app.security.cli import add_key_parser

    add_key_parser(sub)
    # on use: each command loads only its own modules (the window never loads the server)
    from app.sync.cli import add_sync_parsers

    add_sync_parsers(sub)
    # on use: each command loads only its own modules (the window never loads the server)
    from app.export.cli import add_export_parsers

    add_export_parsers(sub)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    # on use: each command loads only its own modules (the window never loads the server)
    from app.server import eprint, exit_now, is_loopback, serve

    if not is_loopback(args.host):
        if not args.allow_remote:
            eprint(
                f"Refusing to listen on {args.host}: TaskChat only listens on this computer "
                "(127.0.0.1) unless you pass --allow-remote."
            )
            return 2
        eprint(
            f"WARNING: listening on {args.host} makes TaskChat reachable from other machines. "
            "Anyone who gets a session link can read and change your tasks."
        )
    code = serve(
        get_settings(),
        host=args.host,
        port=args.port,
        stdin_control=args.stdin_control,
        # the GC, paused since the process began (app/boot.py), runs again
        on_started=boot.started,
    )
    if args.stdin_control:  # the window's server: its window waits for this exit
        exit_now(code)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    boot.begin(argv)  # already done in the binary (its first runtime hook)
    server = boot.take_window_server()
    try:
        return _run(argv, server)
    finally:
        boot.started()  # whatever happened, the GC runs again


def _run(argv: list[str], server: ServerProcess | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if server is None and args.command != "serve":
        boot.started()  # only the window and the server have a start-up to speed up
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "key":
        # on use: each command loads only its own modules (the window never loads the server)
        from app.security.cli import cmd_key

        return cmd_key(args, get_settings())
    if args.screenshot is not None and not args.self_test:
        parser.error("--screenshot only works together with --self-test")
    if args.command == "doctor":
        from app.desktop import doctor

        return doctor.run(get_settings())
    if args.command == "sync":
        # on use: each command loads only its own modules (the window never loads the server)
        from app.sync.cli import cmd_sync

        return cmd_sync(args, get_settings())
    if args.command in ("export", "import"):
        # on use: each command loads only its own modules (the window never loads the server)
        from app.export.cli import cmd_export, cmd_import

        return (cmd_export if args.command == "export" else cmd_import)(args, get_settings())
    if args.command == "import-legacy":
        # on use: each command loads only its own modules (the window never loads the server)
        from app.sync.cli import cmd_import_legacy

        return cmd_import_legacy(args, get_settings())
    # No command: the desktop window (falls back to `serve` when there is no display).
    from app.desktop.window import run_window

    return run_window(
        get_settings(),
        self_test=args.self_test,
        screenshot=args.screenshot,
        fallback=lambda: cmd_serve(parser.parse_args(["serve"])),
        server=server,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
