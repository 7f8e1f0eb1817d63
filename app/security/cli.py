"""`taskchat key set|clear|status`: manage the Gemini API key from a terminal."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, TextIO

from app.config import Settings
from app.errors import DomainError
from app.security import keycheck, keystore

if TYPE_CHECKING:
    from rich.console import Console

# Exit codes of `key set` beyond 0 (saved), 2 (bad input) and 3 (no keyring).
EXIT_REJECTED = 4
EXIT_NOT_CHECKED = 5


def add_key_parser(sub: argparse._SubParsersAction) -> None:
    key = sub.add_parser("key", help="set, clear or show the Gemini API key")
    actions = key.add_subparsers(dest="key_command", required=True)
    setter = actions.add_parser(
        "set",
        help="store the key in the OS keyring (asks for it without echoing; "
        "reads standard input when it is not a terminal)",
    )
    setter.add_argument(
        "--plaintext-file",
        action="store_true",
        help="if no OS keyring is usable, keep the key in a file in the data folder, "
        "STORED UNENCRYPTED",
    )
    setter.add_argument(
        "--no-check",
        action="store_true",
        help="save without asking Gemini whether it accepts the key",
    )
    setter.add_argument(
        "--save-unchecked",
        action="store_true",
        help="if Gemini cannot be reached to check the key, save it anyway "
        "(without this, a terminal asks)",
    )
    actions.add_parser("clear", help="remove the stored key (keyring and plaintext file)")
    actions.add_parser("status", help="show whether a key is set and where it comes from")


def _read_key(stdin: TextIO) -> str:
    if stdin.isatty():
        return getpass.getpass("Gemini API key (input hidden): ")
    return stdin.readline()


def cmd_key(
    args: argparse.Namespace,
    settings: Settings,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        if args.key_command == "set":
            return _set(args, settings, stdin, out, err)
        if args.key_command == "clear":
            keystore.clear_gemini_key(settings)
            print("Removed the stored Gemini API key.", file=out)
            return _status(settings, out, brief=True)
        return _status(settings, out)
    except DomainError as exc:
        print(f"Error: {exc.message}", file=err)
        return 3 if isinstance(exc, keystore.KeyringUnavailable) else 2
    except KeyboardInterrupt:
        print("Cancelled.", file=err)
        return 130


def _console(stream: TextIO) -> Console:
    # rich (42 modules, ~1 MiB) loads when a key command runs, not with this parser, which
    # every taskchat process builds, the window's too (app/cli.py).
    from rich.console import Console

    # soft_wrap: a long path or message stays on one line when piped.
    return Console(file=stream, highlight=False, soft_wrap=True)


def _set(
    args: argparse.Namespace, settings: Settings, stdin: TextIO, out: TextIO, err: TextIO
) -> int:
    # on use, as in _console
    from rich.markup import escape
    from rich.prompt import Confirm

    raw = _read_key(stdin)
    key = keystore.validate_key(raw)
    show, warn = _console(out), _console(err)
    checked = False
    if not args.no_check:
        # Refused before Gemini is asked when the key could not be stored anyway.
        keystore.ensure_storable(allow_plaintext_file=args.plaintext_file)
        with warn.status("Checking the key with Gemini…"):
            result = keycheck.check_gemini_key(settings, key)
        if result.status == "rejected":
            warn.print(f"[bold red]✗[/] {escape(result.message)}")
            warn.print("The key was NOT saved.")
            return EXIT_REJECTED
        if result.status == "valid":
            show.print(f"[bold green]✓[/] {escape(result.message)}")
            checked = True
        else:
            warn.print(f"[bold yellow]![/] {escape(result.message)}")
            interactive = stdin.isatty() and err.isatty()
            if not args.save_unchecked and not (
                interactive
                and Confirm.ask("Save it anyway, not checked yet?", console=warn, default=False)
            ):
                warn.print(
                    "The key was NOT saved. Try again when Gemini can be reached, or add "
                    "--save-unchecked.",
                    markup=False,
                )
                return EXIT_NOT_CHECKED
    source = keystore.store_gemini_key(settings, key, allow_plaintext_file=args.plaintext_file)
    info, status = keystore.gemini_key_info(settings)
    ending = f" (ending {info.last4})" if info.last4 else ""
    note = "" if checked else " It was not checked with Gemini yet."
    if source == "keyring":
        show.print(
            f"Saved the Gemini API key{ending} in the keyring ({status.backend}).{note}",
            markup=False,
        )
    else:
        path = keystore.plaintext_key_path(settings)
        show.print(
            f"Saved the Gemini API key{ending} in {path} - STORED UNENCRYPTED "
            f"(no OS keyring is usable).{note}",
            markup=False,
        )
    if info.source == "env":
        warn.print(
            "Note: GEMINI_API_KEY is set in this environment and takes precedence.",
            markup=False,
        )
    return 0


def _status(settings: Settings, out: TextIO, *, brief: bool = False) -> int:
    info, status = keystore.gemini_key_info(settings)
    where = {
        "env": "the GEMINI_API_KEY environment variable",
        "keyring": f"the OS keyring ({status.backend})",
        "file": f"{keystore.plaintext_key_path(settings)} (STORED UNENCRYPTED)",
    }
    if info.set and info.source:
        ending = f", ending {info.last4}" if info.last4 else ""
        print(f"Gemini API key: set{ending}, from {where[info.source]}.", file=out)
    else:
        print("Gemini API key: not set. Run `taskchat key set` to add one.", file=out)
    if not brief:
        state = "available" if status.available else "NOT available"
        print(f"Keyring: {state} ({status.backend}). {status.message}", file=out)
    return 0
