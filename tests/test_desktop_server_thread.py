"""The window's in-process server (app/desktop/server_process.py): a bounded end."""

from __future__ import annotations

import asyncio
import time

from app.desktop.server_process import LEFTOVER_WAIT_S, InProcessServer

LEFT: list[object] = []


class StubbornServer:
    """Stands in for uvicorn: serves, stops, and leaves a request that outlives a cancel,
    as one waiting on a worker thread (anyio waits for the thread before it gives up)."""

    def __init__(self) -> None:
        self.cancelled = False

    async def _request(self) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled = True
            await asyncio.sleep(10)  # the thread it waits for is still busy

    async def serve(self, sockets: object = None) -> None:
        asyncio.get_running_loop().create_task(self._request())
        await asyncio.sleep(0.05)  # then the stop: serve() returns with the request open


def test_a_request_stuck_after_the_stop_does_not_hold_the_server_thread() -> None:
    server = InProcessServer()
    stub = StubbornServer()
    started = time.monotonic()
    server._serve(stub, None)
    elapsed = time.monotonic() - started
    assert stub.cancelled  # it was asked to end, as asyncio.run would
    assert elapsed < LEFTOVER_WAIT_S + 1.0  # asyncio.run would wait the whole 10 s
    assert len(server._left_behind) == 1
    LEFT.extend(server._left_behind)  # alive to the end, as in the window process


def test_requests_that_end_when_cancelled_are_waited_for() -> None:
    ended: list[str] = []

    class PoliteServer:
        async def _request(self) -> None:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                await asyncio.sleep(0.05)  # its own clean-up, then it ends
                ended.append("request")
                raise

        async def serve(self, sockets: object = None) -> None:
            asyncio.get_running_loop().create_task(self._request())
            await asyncio.sleep(0.05)

    server = InProcessServer()
    server._serve(PoliteServer(), None)
    assert ended == ["request"]
    assert not server._left_behind
