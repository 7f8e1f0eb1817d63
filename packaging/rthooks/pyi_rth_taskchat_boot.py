"""PyInstaller runtime hook, run first of all: `app.boot.begin` (see app/boot.py).

build.spec puts it ahead of PyInstaller's own hooks, which import inspect, pkgutil and
multiprocessing (~70 ms): a window launch starts its server child before those, and the
cyclic GC is paused before they allocate anything.
"""


def _fallback_finder_without_race() -> None:
    """Make PyInstaller's per-folder finder safe for two threads importing at once.

    On Linux the window's server starts on a thread from here (app/boot.py) and imports
    while the main thread imports the web view. The one-dir build keeps modules as plain
    files (build.spec: noarchive), which PyInstaller's finder of each folder finds through
    a "fallback" FileFinder it creates on first use; PyInstaller 6.22's property first sets
    that attribute to None and only then to the finder, so the other thread, asking at
    that moment, is told there is none and the import fails (seen here: "No module named
    'opentelemetry._logs._internal'", which is in the bundle). This builds it the same
    way and assigns it once.
    """
    import sys

    importers = sys.modules.get("pyimod02_importers")
    finder_class = getattr(importers, "PyiFrozenFinder", None)
    if finder_class is None or not isinstance(
        getattr(finder_class, "fallback_finder", None), property
    ):
        return

    def fallback_finder(self):  # type: ignore[no-untyped-def]
        try:
            return self._fallback_finder
        except AttributeError:
            pass
        finder = None
        after_ours = False
        for hook in sys.path_hooks:
            if hook == self.path_hook:
                after_ours = True
            elif after_ours:
                try:
                    finder = hook(self._path)
                    break
                except ImportError:
                    pass
        self._fallback_finder = finder
        return finder

    finder_class.fallback_finder = property(fallback_finder)


def _taskchat_boot() -> None:
    import sys

    # build.spec leaves pydantic's v1 compatibility layer out (nothing TaskChat runs uses
    # it; importing it cost the server ~30 ms of its start). FastAPI still asks for it, for
    # every route field it sets up; a None entry makes each of those an immediate
    # ImportError, which FastAPI expects, instead of a search through every import path.
    sys.modules.setdefault("pydantic.v1", None)

    from app import boot

    boot.begin(sys.argv[1:])


_fallback_finder_without_race()
_taskchat_boot()
del _taskchat_boot, _fallback_finder_without_race
