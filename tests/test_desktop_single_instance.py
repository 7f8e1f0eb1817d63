"""The single-instance lock and the authenticated loopback focus request."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from app.desktop import single_instance as si


def test_first_instance_takes_the_lock_and_publishes(tmp_path: Path) -> None:
    focused = threading.Event()
    with si.SingleInstance(tmp_path) as inst:
        info = inst.publish(4242, on_focus=focused.set)
        assert info.port == 4242 and info.pid == os.getpid()
        on_disk = si.read_info(tmp_path)
        assert on_disk == info
        if os.name == "posix":
            assert (tmp_path / si.INFO_NAME).stat().st_mode & 0o077 == 0
        assert si.request_focus(on_disk)
        assert focused.wait(2)
        assert inst.focus_requests == 1
    # Released: the info file is gone and the lock can be taken again.
    assert si.read_info(tmp_path) is None
    with si.SingleInstance(tmp_path):
        pass


def test_second_instance_in_this_process_is_refused(tmp_path: Path) -> None:
    with si.SingleInstance(tmp_path) as first:
        first.publish(1, on_focus=lambda: None)
        with pytest.raises(si.AlreadyRunning) as exc:
            si.SingleInstance(tmp_path).acquire()
        assert exc.value.info is not None and exc.value.info.token == first.token


def test_focus_request_needs_the_token(tmp_path: Path) -> None:
    calls: list[int] = []
    with si.SingleInstance(tmp_path) as inst:
        info = inst.publish(1, on_focus=lambda: calls.append(1))
        wrong = si.InstanceInfo(pid=info.pid, port=1, focus_port=info.focus_port, token="nope")
        assert not si.request_focus(wrong)
        # Garbage and a bare connection are ignored too.
        with socket.create_connection(("127.0.0.1", info.focus_port), timeout=2) as c:
            c.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert c.recv(16).startswith(b"NO")
        assert calls == []
        assert si.request_focus(info)
        assert calls == [1]


def _holder_script(data_dir: Path) -> str:
    return textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from app.desktop.single_instance import SingleInstance
        inst = SingleInstance(Path({str(data_dir)!r}))
        inst.acquire()
        inst.publish(5555, on_focus=lambda: print("FOCUSED", flush=True))
        print("READY", flush=True)
        sys.stdin.readline()
        """
    )


def test_lock_held_by_another_process_then_stale_after_it_dies(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _holder_script(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        with pytest.raises(si.AlreadyRunning) as exc:
            si.SingleInstance(tmp_path).acquire()
        assert exc.value.info is not None and exc.value.info.pid == proc.pid
        assert si.focus_running_instance(tmp_path, wait=2)
        assert proc.stdout.readline().strip() == "FOCUSED"
    finally:
        proc.kill()  # a crash: no release(), the info file stays behind
        proc.wait(10)
    stale = si.read_info(tmp_path)
    assert stale is not None and stale.pid == proc.pid
    # The OS dropped the dead process's lock: the next launch takes over.
    with si.SingleInstance(tmp_path) as inst:
        assert si.read_info(tmp_path) is None  # the stale file was removed
        info = inst.publish(7, on_focus=lambda: None)
        assert json.loads((tmp_path / si.INFO_NAME).read_text())["pid"] == os.getpid()
        assert info.port == 7
    # With nobody listening, a focus request fails quickly instead of hanging.
    assert not si.request_focus(stale, timeout=1)
    assert not si.focus_running_instance(tmp_path, wait=0.3)
