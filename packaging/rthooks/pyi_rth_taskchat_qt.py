"""PyInstaller runtime hook: where the bundled Qt lives, set up without loading Qt.

It stands in for PyInstaller's own pyi_rth_pyside6 (build.spec drops that one), which
imports PySide6.QtCore in every process to register an embedded qt.conf. `taskchat serve`
and the window's server never use Qt, and loading QtCore with its ICU libraries cost them
~10 MB of memory and part of their start. The window process registers the same qt.conf,
with PyInstaller's own helper, right before it imports Qt (app/desktop/backend.py).
"""


def _taskchat_qt_paths() -> None:
    import os
    import sys

    # Imported here so that PyInstaller bundles the helper the window calls later.
    from _pyi_rth_utils import qt as _qt_rth_utils  # noqa: F401

    if sys.platform.startswith("win"):
        prefix = os.path.join(sys._MEIPASS, "PySide6")
        # Qt's plugins and OpenSSL DLLs are looked up on PATH on Windows.
        os.environ["PATH"] = sys._MEIPASS + os.pathsep + os.environ.get("PATH", "")
    else:
        prefix = os.path.join(sys._MEIPASS, "PySide6", "Qt")
    os.environ["QT_PLUGIN_PATH"] = os.path.join(prefix, "plugins")
    os.environ["TASKCHAT_QT_PREFIX"] = prefix


_taskchat_qt_paths()
del _taskchat_qt_paths
