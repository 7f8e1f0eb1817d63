"""The scripts in packaging/, imported by the tests that check them.

packaging/ is a folder of build scripts, not a package (and not PyPI's `packaging`), so
each is loaded from its file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

PACKAGING = Path(__file__).resolve().parent.parent / "packaging"


def load(name: str) -> ModuleType:
    """packaging/<name>.py as a module."""
    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
