"""Sync: time to carry N changed tasks (default 10,000) from one device to another through
a local PostgreSQL (push on A + pull on B), end-to-end encrypted as in a sync space, the
cost of a no-op sync round, pairing a second device (URL + code → its first full sync of
1,000 tasks), and a local edit's commit on a device whose N tasks all wait to be pushed.

Starts its own throwaway PostgreSQL (Debian's postgresql, as in the test suite), or uses
TASKCHAT_BENCH_PG_URL (an empty database you own).

The first round (10k new tasks, every field) is reported on its own; the "changed tasks"
rounds then rename every task on A. CPU time is given next to wall time: TaskChat's (both
devices run in this process, SQLite in their threads) and the PostgreSQL backends'.
`--baseline DIR` runs the same measurement on the code of another checkout (e.g.
`git worktree add /tmp/sync-base main`) in alternating blocks, for a ratio in one run.
Like a TaskChat process, the script freezes its start-up objects before it measures
(`--no-gc-freeze` leaves them to the collector, as figures before 2026-12-05 did).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import select

from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.profile import local_user_id
from app.sync import spaces
from app.sync.clock import HLC
from app.sync.crypto import RowCipher, new_sync_key
from app.sync.service import SyncService
from app.sync.settings import device_id
from app.tasks.models import Task, TaskTag
from benchmarks.report import Figure, print_table, time_async, write_json

USER = "bench-sync-user"


class Dev:
    def __init__(self, root: Path, name: str, url: str, cipher: RowCipher | None) -> None:
        self.engine = create_engine(Settings(data_dir=root / name, database_url=None))
        self.maker = create_sessionmaker(self.engine)
        self.sync = SyncService(
            engine=self.engine,
            url=url,
            user_id=USER,
            device_id=name,
            clock=HLC(name),
            cipher=cipher,
        )

    async def open(self) -> Dev:
        await migrate.upgrade(self.engine)
        await self.sync.open()
        return self

    async def close(self) -> None:
        await self.sync.stop()
        await self.engine.dispose()


async def fill(dev: Dev, n: int, user: str = USER) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with dev.maker() as s:
        for i in range(n):
            tid = str(uuid.uuid4())
            s.add(
                Task(
                    id=tid,
                    user_id=user,
                    title=f"task {i}",
                    description=("some words " * 4).strip(),  # as the app stores it
                    tags=["work", "home"][: i % 3],
                    due_at=start + timedelta(days=i % 300) if i % 2 else None,
                    created_at=start + timedelta(seconds=i),
                    updated_at=start + timedelta(seconds=i),
                )
            )
            for tag in ["work", "home"][: i % 3]:
                s.add(TaskTag(task_id=tid, tag=tag, user_id=user))
        await s.commit()


async def touch_all(dev: Dev, round_no: int) -> None:
    async with dev.maker() as s:
        await s.exec(  # type: ignore[call-overload]
            update(Task)
            .where(Task.user_id == USER)
            .values(title=Task.title + f" r{round_no}", updated_at=datetime.now(UTC))
        )
        await s.commit()


def _cpu() -> float:
    """CPU seconds of this process (every thread: the devices' SQLite work included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _proc_cpu(pid: int) -> float:
    """CPU seconds of another local process (a PostgreSQL backend); 0 if unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


async def _backend_pids(*devs: Dev) -> list[int]:
    pids = []
    for dev in devs:
        conn = getattr(dev.sync, "_conn", None)
        if conn is not None:
            pids.append(int(await conn.fetchval("SELECT pg_backend_pid()")))
    return pids


async def run(url: str, n: int, runs: int, noop_runs: int, encrypted: bool) -> list[Figure]:
    cipher = RowCipher(new_sync_key()) if encrypted else None
    label = f"{n:,} tasks, " + ("encrypted (AES-GCM)" if encrypted else "unencrypted")
    with tempfile.TemporaryDirectory(prefix="taskchat-bench-sync-") as tmp:
        a = await Dev(Path(tmp), "device-a", url, cipher).open()
        b = await Dev(Path(tmp), "device-b", url, cipher).open()
        try:
            await fill(a, n)
            t0 = time.perf_counter()
            await a.sync.run_once()
            first = await b.sync.run_once()
            first_ms = (time.perf_counter() - t0) * 1000
            assert first.pulled >= n, first
            pids = await _backend_pids(a, b)
            total, push, pull, cpu, pg_cpu = [], [], [], [], []
            for r in range(1, runs + 1):
                await touch_all(a, r)
                c0, p0 = _cpu(), sum(map(_proc_cpu, pids))
                t0 = time.perf_counter()
                pushed = await a.sync.run_once()
                t1 = time.perf_counter()
                pulled = await b.sync.run_once()
                t2 = time.perf_counter()
                cpu.append((_cpu() - c0) * 1000)
                pg_cpu.append((sum(map(_proc_cpu, pids)) - p0) * 1000)
                assert pushed.pushed >= n and pulled.pulled >= n, (pushed, pulled)
                push.append((t1 - t0) * 1000)
                pull.append((t2 - t1) * 1000)
                total.append((t2 - t0) * 1000)
            noop = await time_async(b.sync.run_once, runs=noop_runs)
        finally:
            await a.close()
            await b.close()
    return [
        Figure("sync changed tasks A→B (push + pull)", total, target="<= 3000 ms", note=label),
        Figure("  push on A", push, note=label),
        Figure("  pull + apply on B", pull, note=label),
        Figure("  CPU, TaskChat (A + B)", cpu, note="same rounds; SQLite threads included"),
        Figure("  CPU, PostgreSQL backends", pg_cpu, note="same rounds"),
        Figure("first sync of new tasks A→B", [first_ms], note=label + ", every field"),
        Figure("no-op sync round", noop, note="nothing changed; connection kept open"),
    ]


async def pairing(url: str, n: int, runs: int) -> list[float]:
    """Per run: a space with `n` tasks on A; then B joins (URL + code) and syncs once."""
    os.environ["TASKCHAT_KEYRING_BACKEND"] = "fail"  # secrets in the explained file
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="taskchat-bench-pair-") as tmp:
            sa = Settings(data_dir=Path(tmp) / "a", database_url=None)
            sb = Settings(data_dir=Path(tmp) / "b", database_url=None)
            engines = [create_engine(sa), create_engine(sb)]
            for engine in engines:
                await migrate.upgrade(engine)
            user_a = local_user_id(sa)
            dev = Dev.__new__(Dev)
            dev.maker = create_sessionmaker(engines[0])
            await fill(dev, n, user=user_a)
            started = await spaces.start_space(
                settings=sa,
                engine=engines[0],
                url=url,
                user_id=user_a,
                device_id=device_id(sa),
                allow_plaintext_file=True,
            )
            assert started.code
            a = SyncService(
                engine=engines[0],
                url=url,
                user_id=user_a,
                device_id=device_id(sa),
                cipher=spaces.cipher_for(sa),
            )
            await a.run_once()
            await a.stop()
            t0 = time.perf_counter()
            joined = await spaces.join_space(
                settings=sb,
                engine=engines[1],
                url=url,
                code=started.code,
                user_id=local_user_id(sb),
                device_id=device_id(sb),
                allow_plaintext_file=True,
            )
            b = SyncService(
                engine=engines[1],
                url=url,
                user_id=joined.user_id,
                device_id=device_id(sb),
                cipher=spaces.cipher_for(sb),
            )
            result = await b.run_once()
            times.append((time.perf_counter() - t0) * 1000)
            await b.stop()
            assert result.applied >= n, result
            for engine in engines:
                await engine.dispose()
    return times


async def edit_while_pending(n: int, runs: int) -> list[float]:
    """ms to edit one task and commit (its sync stamp included) on a device whose `n` tasks
    wait to be pushed: an offline device after an import, ~19 outbox notes a task."""
    with tempfile.TemporaryDirectory(prefix="taskchat-bench-pending-") as tmp:
        dev = await Dev(Path(tmp), "device-a", "postgresql://offline@127.0.0.1:9/x", None).open()
        try:
            await fill(dev, n)
            async with dev.maker() as s:
                ids = list((await s.exec(select(Task.id))).all())  # type: ignore[call-overload]
            times = []
            for i in range(runs):
                t0 = time.perf_counter()
                async with dev.maker() as s:
                    task = await s.get(Task, ids[i % n])
                    assert task is not None
                    task.title += "!"
                    s.add(task)
                    await s.commit()
                times.append((time.perf_counter() - t0) * 1000)
        finally:
            await dev.close()
    return times


def measure(args: argparse.Namespace) -> list[Figure]:
    if not args.no_gc_freeze:
        # As in every TaskChat process once it has started (app/boot.py `started`): what
        # importing made is frozen out of the cyclic collector's way. Unfrozen, each full
        # collection a round sets off walked it again (~0.1 s each, ~4 a round): a cost
        # of this script, not of the app.
        gc.collect()
        gc.freeze()
    n, runs, noop_runs = (500, 2, 20) if args.quick else (args.tasks, args.runs, 300)
    pair_tasks, pair_runs = (200, 2) if args.quick else (1000, 5)
    server = None
    url = os.environ.get("TASKCHAT_BENCH_PG_URL")
    if not url:
        from tests import pg

        server = pg.start_postgres()
        if server is None:
            raise SystemExit("no PostgreSQL binaries found; set TASKCHAT_BENCH_PG_URL")
        url = server.url(server.create_database(prefix="bench"))
    try:
        figures = asyncio.run(run(url, n, runs, noop_runs, encrypted=True))
        figures.append(
            Figure(
                "edit a task while every task waits to be pushed",
                asyncio.run(edit_while_pending(n, 20 if args.quick else 100)),
                note=f"{n:,} tasks never pushed (offline); commit with its sync stamp",
            )
        )
        if args.plaintext:
            plain = asyncio.run(run(url, n, runs, noop_runs, encrypted=False))
            figures += [
                Figure(f.name + " (unencrypted)", f.samples, note=f.note)
                for f in plain
                if not f.name.startswith("no-op")
            ]
        if not args.no_pairing:
            figures.append(
                Figure(
                    "pair a second device (join + first full sync)",
                    asyncio.run(pairing(url, pair_tasks, pair_runs)),
                    target="<= 5000 ms",
                    note=f"{pair_tasks:,} tasks, encrypted",
                )
            )
    finally:
        if server is not None:
            from tests import pg

            pg.stop_postgres(server)
    return figures


def compare(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    """This checkout and `args.baseline` in alternating blocks (`args.blocks` each), each
    block a fresh process running this script against that checkout's code."""
    here = Path(__file__).resolve().parents[1]
    inner = [a for a in argv if not a.startswith("--baseline") and a != args.baseline]
    samples: dict[tuple[str, str], list[float]] = {}
    notes: dict[str, tuple[str, str, str]] = {}
    loads = []
    for _ in range(args.blocks):
        for tag, tree in (("baseline", Path(args.baseline).resolve()), ("this", here)):
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), *inner, "--json-out", out.name],
                    env={**os.environ, "PYTHONPATH": str(tree)},
                    cwd=tree,
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                loads.append(os.getloadavg()[0])
                for f in json.loads(Path(out.name).read_text()):
                    samples.setdefault((f["name"], tag), []).extend(f["samples"])
                    notes[f["name"]] = (f["unit"], f["target"], f["note"])
    figures = []
    for (name, tag), values in samples.items():
        unit, target, note = notes[name]
        # (Round brackets: rich reads square ones as markup.)
        label = f"{name} ({tag})"
        figures.append(Figure(label, values, unit, target if tag == "this" else "", note))
    figures.sort(key=lambda f: list(notes).index(f.name.rsplit(" (", 1)[0]))
    print(f"load average after each block: {', '.join(f'{x:.1f}' for x in loads)}")
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="tiny run to check it works")
    parser.add_argument(
        "--plaintext", action="store_true", help="also measure the unencrypted format"
    )
    parser.add_argument("--no-pairing", action="store_true", help="skip the pairing figure")
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave the start-up objects to the garbage collector (the app freezes them)",
    )
    parser.add_argument("--baseline", help="another checkout to compare with, same run")
    parser.add_argument("--blocks", type=int, default=2, help="with --baseline: blocks each")
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    load = os.getloadavg()
    figures = compare(args, argv) if args.baseline else measure(args)
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps([{**f.to_json(), "samples": f.samples} for f in figures])
        )
        return {}
    print_table(
        f"Sync ({500 if args.quick else args.tasks:,} changed tasks, local PostgreSQL; load "
        f"{load[0]:.1f} before, {os.getloadavg()[0]:.1f} after)",
        figures,
    )
    if not args.quick:
        print(f"written {write_json('sync', figures, tasks=args.tasks, runs=args.runs)}")
    return {f.name.strip(): f.to_json() for f in figures}


if __name__ == "__main__":
    main()
