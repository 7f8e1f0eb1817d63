"""PyInstaller entry point for the `taskchat` binary (see build.spec)."""

import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
