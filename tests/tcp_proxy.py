"""A TCP proxy the tests control: forwards to a server and can drop or delay connections.

Used for fault injection through a real mechanism: a connection cut at an arbitrary
byte of a push or a pull, or a server that is not there yet (cold start); and, with
`delay`, for a link with a real round-trip time (benchmarks/bench_gemini_link.py).
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        # Drop a new connection once this many client->server (cut_after) or
        # server->client (cut_down_after) bytes have passed (None: never).
        self.cut_after: int | None = None
        self.cut_down_after: int | None = None
        self.cuts = 0
        self.one_shot = True
        # One-way latency in seconds: every byte arrives this much later, and a new
        # connection's first bytes one round trip later still (TCP's own handshake). Cuts
        # do not apply to a delayed proxy.
        self.delay = 0.0
        # A stalled link: bytes are taken in but not passed on while this is set (the
        # connection stays open; nothing answers).
        self.frozen = False

    async def start(self, port: int = 0) -> TcpProxy:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        self.cut_all()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    def cut_all(self) -> None:
        for w in list(self._writers):
            with contextlib.suppress(Exception):
                w.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        budgets = {True: [self.cut_after], False: [self.cut_down_after]}
        if self.one_shot:  # the cut hits the next connection only; a reconnect gets through
            self.cut_after = self.cut_down_after = None

        async def pipe(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, upstream: bool
        ) -> None:
            try:
                budget = budgets[upstream]
                while data := await src.read(65536):
                    if budget[0] is not None:
                        if len(data) >= budget[0]:
                            dst.write(data[: budget[0]])
                            self.cuts += 1
                            writer.transport.abort()
                            up_writer.transport.abort()
                            return
                        budget[0] -= len(data)
                    while self.frozen:  # noqa: ASYNC110 (a flag the test flips, polled)
                        await asyncio.sleep(0.05)
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.transport.abort() if not upstream else dst.close()

        if self.delay:
            tasks = [
                asyncio.create_task(self._delayed(reader, up_writer, 2 * self.delay)),
                asyncio.create_task(self._delayed(up_reader, writer, 0.0)),
            ]
        else:
            tasks = [
                asyncio.create_task(pipe(reader, up_writer, True)),
                asyncio.create_task(pipe(up_reader, writer, False)),
            ]
        self._pipes.update(tasks)
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._pipes.difference_update(tasks)
            self._writers.discard(writer)
            self._writers.discard(up_writer)
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.transport.abort()

    async def _delayed(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, handshake: float
    ) -> None:
        """Forward src to dst, each read `delay` seconds after it arrived, in order."""
        loop = asyncio.get_running_loop()
        not_before = loop.time() + handshake
        due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                at, data = await due.get()
                if not data:
                    return
                await asyncio.sleep(max(0.0, at - loop.time()))
                dst.write(data)
                await dst.drain()

        deliverer = asyncio.create_task(deliver())
        try:
            while data := await src.read(65536):
                due.put_nowait((max(loop.time(), not_before) + self.delay, data))
            due.put_nowait((0.0, b""))
            await deliverer
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            deliverer.cancel()
            with contextlib.suppress(Exception):
                dst.close()
