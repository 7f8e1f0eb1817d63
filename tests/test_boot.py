"""app/boot.py: the GC paused for start-up and resumed after it, in fresh processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipimport
from pathlib import Path


def run_python(code: str, data_dir: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"TASKCHAT_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_begin_pauses_the_gc_once_and_started_resumes_it_with_start_up_frozen(
    data_dir: Path,
) -> None:
    out = run_python(
        """
        import gc
        from app import boot
        assert gc.isenabled()
        boot.begin(["serve"])
        print("paused", not gc.isenabled())
        print("no window server", boot.take_window_server() is None)
        gc.enable(); boot.begin(["serve"]); print("begins once", gc.isenabled()); gc.disable()
        before = [g["collections"] for g in gc.get_stats()]
        import app.server  # the server's start-up imports (~200 collections with the GC on)
        print("no collections", [g["collections"] for g in gc.get_stats()] == before)
        boot.started()
        print("resumed", gc.isenabled(), gc.get_freeze_count() > 100_000)
        boot.started()  # a second call changes nothing
        print("still on", gc.isenabled())
        """,
        data_dir,
    )
    assert out.split("\n") == [
        "paused True",
        "no window server True",
        "begins once True",
        "no collections True",
        "resumed True True",
        "still on True",
        "",
    ]


def test_a_short_command_runs_with_the_gc_on(data_dir: Path) -> None:
    out = run_python(
        """
        import gc
        from app.cli import main
        try:
            main(["--version"])  # argparse exits from the middle of main
        except SystemExit:
            pass
        print(gc.isenabled())
        """,
        data_dir,
    )
    assert out.strip().endswith("True")


def fake_bundle(root: Path) -> Path:
    """A one-dir bundle's layout: plain .pyc files only, a package of 40 modules, a zip."""
    import py_compile
    import zipfile

    bundle = root / "_internal"
    for package, count in (("app", 0), ("many", 40)):
        (bundle / package).mkdir(parents=True)
        sources = [("__init__", "NAME = __name__")]
        sources += [(f"m{i}", f"VALUE = {i}") for i in range(count)]
        for name, text in sources:
            source = root / "src" / package / f"{name}.py"
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_text(text)
            py_compile.compile(str(source), cfile=str(bundle / package / f"{name}.pyc"))
    with zipfile.ZipFile(bundle / "zipped.zip", "w") as z:
        z.writestr("inzip.py", "WHERE = 'zip'")
    return bundle


def test_the_bundle_s_modules_are_found_by_python_s_finder_from_many_threads(
    tmp_path: Path, data_dir: Path
) -> None:
    bundle = fake_bundle(tmp_path)
    out = run_python(
        f"""
        import importlib, sys, threading, zipimport
        from importlib.machinery import FileFinder, SourcelessFileLoader
        from app import boot
        bundle = {str(bundle)!r}
        class Unlucky:  # PyInstaller's finder as a second thread can find it: empty-handed
            def __init__(self, path):
                if not path.startswith(bundle):
                    raise ImportError(path)
            def find_spec(self, name, target=None): return None
            def invalidate_caches(self): pass
        # Where PyInstaller puts its hook: after zipimport's, before Python's FileFinder.
        sys.path_hooks.insert(sys.path_hooks.index(zipimport.zipimporter) + 1, Unlucky)
        print("used", boot.use_python_finder_in_bundle(bundle))
        sys.path[:0] = [bundle, bundle + "/zipped.zip"]
        import many
        sys.setswitchinterval(1e-6)  # threads take turns as often as they can
        barrier, failed = threading.Barrier(40), []
        def load(i):
            barrier.wait()
            try:
                assert importlib.import_module(f"many.m{{i}}").VALUE == i
            except Exception as exc:
                failed.append(repr(exc))
        threads = [threading.Thread(target=load, args=(i,)) for i in range(40)]
        for t in threads: t.start()
        for t in threads: t.join()
        print("failed", failed)
        print("finder", type(sys.path_importer_cache[many.__path__[0]]) is FileFinder)
        print("loader", type(sys.modules["many.m7"].__loader__) is SourcelessFileLoader)
        import inzip
        print("zip", inzip.WHERE, type(sys.path_importer_cache[bundle + "/zipped.zip"]).__name__)
        import json.decoder  # outside the bundle: the usual finders
        print("outside", type(json.decoder.__spec__.loader).__name__)
        """,
        data_dir,
    )
    assert out.split("\n") == [
        "used True",
        "failed []",
        "finder True",
        "loader True",
        f"zip zip {zipimport.zipimporter.__name__}",
        "outside SourceFileLoader",
        "",
    ]


def test_a_bundle_without_plain_module_files_keeps_pyinstaller_s_finder(
    tmp_path: Path, data_dir: Path
) -> None:
    """One-file keeps its modules in PyInstaller's archive, which only its finder reads."""
    (tmp_path / "_internal").mkdir()
    out = run_python(
        f"""
        import sys
        from app import boot
        hooks = list(sys.path_hooks)
        print(boot.use_python_finder_in_bundle({str(tmp_path / "_internal")!r}))
        print(sys.path_hooks == hooks)
        """,
        data_dir,
    )
    assert out.split("\n") == ["False", "True", ""]
