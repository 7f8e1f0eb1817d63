"""PyInstaller runtime hook, run first of all: `app.boot.begin` (see app/boot.py).

It first hands the bundle's imports to Python's own finder
(`app.boot.use_python_finder_in_bundle`): PyInstaller's can fail an import made by two
threads at once.

build.spec puts it ahead of PyInstaller's own hooks, which import inspect, pkgutil and
multiprocessing (~70 ms): a window launch starts its server child before those, and the
cyclic GC is paused before they allocate anything.
"""


def _taskchat_boot() -> None:
    import sys

    # build.spec leaves pydantic's v1 compatibility layer out (nothing TaskChat runs uses
    # it; importing it cost the server ~30 ms of its start). FastAPI still asks for it, for
    # every route field it sets up; a None entry makes each of those an immediate
    # ImportError, which FastAPI expects, instead of a search through every import path.
    sys.modules.setdefault("pydantic.v1", None)

    from app import boot

    boot.use_python_finder_in_bundle(sys._MEIPASS)
    boot.begin(sys.argv[1:])


_taskchat_boot()
del _taskchat_boot
