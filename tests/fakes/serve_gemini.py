"""Runs the fake Gemini as a process for CI's ChatKit-required self-test of the installed app.

    python -m tests.fakes.serve_gemini --title "Buy oat milk" --url-file gemini-url.txt

It answers the first chat turn with a `create_task` call for TITLE, then a short text, writes
its base URL (for GEMINI_BASE_URL) to --url-file, and serves until killed. The count of chat
turns it answered is appended to --log as one line per turn.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tests.fakes.gemini import FakeGemini, Text, ToolCalls


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--title", required=True)
    parser.add_argument("--url-file", type=Path, required=True)
    parser.add_argument("--log", type=Path)
    args = parser.parse_args(argv)
    fake = FakeGemini().start()
    fake.push(
        ToolCalls([("create_task", {"title": args.title})]),
        Text([f"Added “{args.title}” to your tasks."]),
    )
    args.url_file.write_text(fake.base_url, encoding="utf-8")
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            if args.log and len(fake.requests) > seen:
                seen = len(fake.requests)
                with args.log.open("a", encoding="utf-8") as fh:
                    fh.write(f"chat request {seen}\n")
    except KeyboardInterrupt:
        return 0
    finally:
        fake.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
