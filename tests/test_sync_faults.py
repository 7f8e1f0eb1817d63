"""Fault suite: three `taskchat serve` processes on their own data folders sync one
end-to-end encrypted space through PgBouncer (transaction mode) and one PostgreSQL, each
through its own TCP proxy, while a seeded random mix of task operations runs with faults:
SIGKILL mid-sync and restart, PostgreSQL restarts, links cut and stalled, concurrent syncs
on one device, one device's clock skewed (libfaketime), and edits of tasks another device
has just deleted. Then the faults heal and every device is checked against a reference
model built from the acknowledged writes and their HLC stamps (read from each device's
own SQLite right after the write): all devices identical in every field, no acknowledged
write lost under last-writer-wins, nothing duplicated or resurrected, integrity_check ok.

CI runs the seeds in SEEDS (bounded, well under two minutes). A soak:
TASKCHAT_SYNC_SOAK=<operations per seed> [TASKCHAT_SYNC_SOAK_SEEDS=a,b,c].
Each run writes its report to artifacts/sync-faults-<seed>.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import random
import signal
import sqlite3
import sys
import time
import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.tasks.models import TASK_DATA_COLUMNS
from tests import pg
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
FAKETIME_LIB = next(
    (
        p
        for p in (
            "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
            "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
            "/usr/lib/faketime/libfaketime.so.1",
        )
        if os.path.exists(p)
    ),
    None,
)
SEEDS = [int(s) for s in os.environ.get("TASKCHAT_SYNC_SOAK_SEEDS", "28").split(",")]
SOAK = int(os.environ.get("TASKCHAT_SYNC_SOAK", "0") or 0)
OPERATIONS = SOAK or 300
TASK_OPS = ("create", "edit", "complete", "delete", "restore")
FIELDS = TASK_DATA_COLUMNS
Stamp = tuple[str, str]


def _open_log(path: Path) -> io.BufferedWriter:
    return open(path, "wb")  # closed by the caller's `with`


class ServeDevice:
    """One `taskchat serve` process on its own data folder, signed in over HTTP."""

    def __init__(self, root: Path, name: str, *, skew: str | None = None) -> None:
        self.name = name
        self.data_dir = root / name
        self.skew = skew
        self.proc: asyncio.subprocess.Process | None = None
        self.client: httpx.AsyncClient | None = None
        self.device_id = ""
        self.starts = 0

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TASKCHAT_", "GEMINI_")) and k != "LD_PRELOAD"
        }
        env.update(
            TASKCHAT_DATA_DIR=str(self.data_dir),
            TASKCHAT_KEYRING_BACKEND="fail",
            TASKCHAT_SYNC_INTERVAL="3",  # background rounds race the explicit ones
            PYTHONPATH=str(ROOT),
        )
        if self.skew and FAKETIME_LIB:
            env.update(
                LD_PRELOAD=FAKETIME_LIB, FAKETIME=self.skew, FAKETIME_DONT_FAKE_MONOTONIC="1"
            )
        return env

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / f"serve-{self.starts}.out"
        self.starts += 1
        with _open_log(log) as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "app",
                "serve",
                "--port",
                "0",
                env=self.env(),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            found = [x for x in text.splitlines() if x.startswith("TaskChat running at ")]
            if found:
                line = found[0]
                break
            if self.proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert line, f"{self.name} did not start:\n{log.read_text(errors='replace')[-2000:]}"
        launch = line.removeprefix("TaskChat running at ").strip()
        base = launch.split("/?", 1)[0]
        if self.client is not None:
            await self.client.aclose()
        self.client = httpx.AsyncClient(base_url=base, timeout=60)
        r = await self.client.get(launch)
        assert r.status_code in (302, 303, 307), r.text
        status = (await self.client.get("/api/sync/status")).json()
        self.device_id = status["device"]["id"]

    async def kill(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                await self.kill()
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    @property
    def api(self) -> httpx.AsyncClient:
        assert self.client is not None
        return self.client

    async def sync(self) -> dict[str, Any]:
        r = await self.api.post("/api/sync/run")
        assert r.status_code == 200, r.text
        return r.json()

    # -- reading its SQLite directly (read-only use) ---------------------------------
    def _db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.data_dir / "taskchat.db", timeout=30)
        conn.execute("PRAGMA query_only = 1")
        return conn

    def row_state(self, task_id: str) -> tuple[dict[str, Any] | None, dict[str, Stamp]]:
        with contextlib.closing(self._db()) as conn:
            cols = ", ".join(f'"{f}"' for f in FIELDS)
            row = conn.execute(f"SELECT {cols} FROM task WHERE id = ?", (task_id,)).fetchone()
            clocks = {
                f: (h, d)
                for f, h, d in conn.execute(
                    "SELECT field, hlc, device FROM sync_clock WHERE entity = 'task' "
                    "AND row_id = ?",
                    (task_id,),
                )
            }
        return (dict(zip(FIELDS, row, strict=True)) if row else None), clocks

    def all_tasks(self) -> dict[str, dict[str, Any]]:
        with contextlib.closing(self._db()) as conn:
            cols = ", ".join(f'"{f}"' for f in FIELDS)
            return {
                r[0]: dict(zip(FIELDS, r[1:], strict=True))
                for r in conn.execute(f"SELECT id, {cols} FROM task")
            }

    def integrity(self) -> str:
        with contextlib.closing(self._db()) as conn:
            return conn.execute("PRAGMA integrity_check").fetchone()[0]


class Model:
    """Every acknowledged write with its stamp; the expected state follows from LWW."""

    def __init__(self) -> None:
        self.writes: dict[tuple[str, str], dict[Stamp, Any]] = defaultdict(dict)
        self.tombs: dict[str, set[Stamp]] = defaultdict(set)
        self.created: list[str] = []
        self.acknowledged = 0

    def record(self, dev: ServeDevice, task_id: str) -> None:
        """Note the writes `dev` just made to `task_id` (the stamps carrying its id)."""
        row, clocks = dev.row_state(task_id)
        for field, stamp in clocks.items():
            if stamp[1] != dev.device_id:
                continue  # a newer write from elsewhere already won here: that one counts
            if field == "_deleted":
                if stamp not in self.tombs[task_id]:
                    self.tombs[task_id].add(stamp)
                    self.acknowledged += 1
            elif row is not None and field in FIELDS:
                if stamp not in self.writes[(task_id, field)]:
                    self.writes[(task_id, field)][stamp] = row[field]
                    self.acknowledged += 1

    def expected(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for task_id in self.created:
            fields = {}
            top: Stamp = ("", "")
            for f in FIELDS:
                writes = self.writes.get((task_id, f))
                if not writes:
                    continue
                stamp = max(writes)
                fields[f] = writes[stamp]
                top = max(top, stamp)
            tomb = max(self.tombs[task_id]) if self.tombs.get(task_id) else None
            if tomb is None or top > tomb:
                out[task_id] = fields
        return out


async def restart_postgres(server: pg.PgServer) -> None:
    prefix, _uid, _gid = pg._runner()
    proc = await asyncio.create_subprocess_exec(
        *prefix,
        str(server.bindir / "pg_ctl"),
        "-D",
        str(server.root / "data"),
        "-m",
        "fast",
        "-w",
        "restart",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert await proc.wait() == 0


async def export_task(dev: ServeDevice, task_id: str) -> dict[str, Any] | None:
    r = await dev.api.get("/api/export")
    if r.status_code != 200:
        return None
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        data = json.loads(zf.read("export.json"))
    return next((t for t in data["tasks"] if t["id"] == task_id), None)


async def run_seed(seed: int, operations: int, root: Path, server: Any, bouncer: Any) -> dict:
    rng = random.Random(seed)
    database = server.create_database(prefix="faults")
    proxies = [await TcpProxy("127.0.0.1", bouncer.port).start() for _ in range(3)]
    skew = "+120" if FAKETIME_LIB else None  # device c runs two minutes ahead
    devices = [
        ServeDevice(root, "a"),
        ServeDevice(root, "b"),
        ServeDevice(root, "c", skew=skew),
    ]
    ops: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    model = Model()
    started = time.monotonic()
    try:
        await asyncio.gather(*(d.start() for d in devices))
        body = {"url": proxies[0].url(database), "allow_plaintext_file": True}
        r = await devices[0].api.post("/api/sync/setup", json=body)
        assert r.status_code == 200, r.text
        code = r.json()["code"]

        async def join(dev: ServeDevice, proxy: TcpProxy) -> None:
            body = {"url": proxy.url(database), "code": code, "allow_plaintext_file": True}
            r = await dev.api.post("/api/sync/setup", json=body)
            assert r.status_code == 200, r.text

        # Both join at once (two devices pairing with one space concurrently is a case
        # worth having, and it halves the suite's set-up time).
        await asyncio.gather(*(join(d, p) for d, p in zip(devices[1:], proxies[1:], strict=True)))
        saved: dict[str, dict[str, Any]] = {}  # before-images for restores
        deleted: list[str] = []

        def live_ids() -> list[str]:
            return [t for t in model.created if t not in deleted] or model.created

        async def op_create(dev: ServeDevice) -> None:
            n = len(model.created)
            payload = {
                "title": f"task {seed}-{n}",
                "priority": rng.choice(["none", "low", "medium", "high"]),
                "tags": rng.sample(["home", "work", "errand", "later"], rng.randint(0, 2)),
                "description": rng.choice(["", "notes " * rng.randint(1, 4)]),
            }
            r = await dev.api.post("/api/tasks", json=payload)
            assert r.status_code == 201, r.text
            task_id = r.json()["id"]
            model.created.append(task_id)
            model.record(dev, task_id)
            ops["create"] += 1

        async def op_edit(dev: ServeDevice, task_id: str) -> bool:
            patch: dict[str, Any] = {}
            for name in rng.sample(["title", "description", "priority", "tags", "due"], 2):
                if name == "title":
                    patch["title"] = f"edit {rng.randint(0, 10**6)} on {dev.name}"
                elif name == "description":
                    patch["description"] = f"words {rng.randint(0, 999)}"
                elif name == "priority":
                    patch["priority"] = rng.choice(["none", "low", "medium", "high"])
                elif name == "tags":
                    patch["tags"] = rng.sample(["home", "work", "errand", "later"], 2)
                else:
                    patch["due"] = f"2027-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
            r = await dev.api.patch(f"/api/tasks/{task_id}", json=patch)
            if r.status_code == 404:
                return False
            assert r.status_code == 200, r.text
            model.record(dev, task_id)
            ops["edit"] += 1
            return True

        async def op_complete(dev: ServeDevice, task_id: str) -> None:
            body = {"completed": rng.random() < 0.8}
            r = await dev.api.post(f"/api/tasks/{task_id}/complete", json=body)
            if r.status_code == 404:
                return
            assert r.status_code == 200, r.text
            model.record(dev, task_id)
            ops["complete"] += 1

        async def op_delete(dev: ServeDevice, task_id: str) -> bool:
            image = await export_task(dev, task_id)
            r = await dev.api.delete(f"/api/tasks/{task_id}")
            if r.status_code == 404:
                return False
            assert r.status_code == 204, r.text
            if image is not None:
                saved[task_id] = image
            deleted.append(task_id)
            model.record(dev, task_id)
            ops["delete"] += 1
            return True

        async def op_restore(dev: ServeDevice) -> None:
            candidates = [t for t in deleted if t in saved]
            if not candidates:
                return
            task_id = rng.choice(candidates)
            image = dict(saved[task_id])
            # A restore puts the task back with its old id (as undo does); newer than
            # the copy it came from, so the import takes it.
            image["updated_at"] = "2030-01-01T00:00:00+00:00"
            data = {"format": "taskchat-export", "version": 1, "tasks": [image]}
            r = await dev.api.post("/api/import", content=json.dumps(data))
            assert r.status_code == 200, r.text
            model.record(dev, task_id)
            deleted.remove(task_id)
            ops["restore"] += 1

        async def sync_bg(dev: ServeDevice) -> asyncio.Task[Any]:
            return asyncio.create_task(dev.api.post("/api/sync/run"))

        # Every kind of fault happens at least once, at a random point; beyond a cap
        # (bounded CI runs; a soak has none) a drawn fault becomes a plain sync.
        # Draws in [0.84, 0.975) are faults: concurrent syncs, SIGKILL, cut, stall, PG.
        forced = {
            rng.randrange(10, max(11, operations)): r for r in (0.85, 0.88, 0.91, 0.94, 0.965)
        }
        caps = {(0.84, 0.87): 6, (0.87, 0.90): 2, (0.93, 0.96): 3, (0.96, 0.975): 1}
        if SOAK:
            caps = {}
        used: Counter[tuple[float, float]] = Counter()
        steps = [0]

        async def step() -> None:
            i = rng.randrange(3)
            dev, proxy = devices[i], proxies[i]
            roll = rng.random()
            steps[0] += 1
            roll = forced.get(steps[0], roll)
            for (low, high), cap in caps.items():
                if low <= roll < high:
                    used[(low, high)] += 1
                    if used[(low, high)] > cap:
                        roll = 0.75  # a plain sync instead
            if roll < 0.25 or len(model.created) < 5:
                await op_create(dev)
            elif roll < 0.50:
                await op_edit(dev, rng.choice(live_ids()))
            elif roll < 0.60:
                await op_complete(dev, rng.choice(live_ids()))
            elif roll < 0.68:
                task_id = rng.choice(live_ids())
                if await op_delete(dev, task_id) and rng.random() < 0.6:
                    # Another device that has not seen the delete edits the task.
                    other = devices[(i + rng.randint(1, 2)) % 3]
                    if await op_edit(other, task_id):
                        ops["edit after unseen delete"] += 1
            elif roll < 0.72:
                await op_restore(dev)
            elif roll < 0.79:
                await dev.sync()
                ops["sync"] += 1
            elif roll < 0.84:
                await op_edit(dev, rng.choice(live_ids()))
            elif roll < 0.87:
                await asyncio.gather(*(dev.api.post("/api/sync/run") for _ in range(3)))
                faults["concurrent syncs on one device"] += 1
            elif roll < 0.90:
                pending = await sync_bg(dev)
                await asyncio.sleep(rng.uniform(0.0, 0.3))
                await dev.kill()
                with contextlib.suppress(httpx.HTTPError):
                    await pending
                await dev.start()
                faults["SIGKILL mid-sync + restart"] += 1
            elif roll < 0.93:
                proxy.cut_after = rng.randint(200, 20_000)  # the next connection dies
                proxy.cut_all()
                await dev.sync()
                faults["link cut"] += 1
            elif roll < 0.96:
                pending = await sync_bg(dev)
                proxy.frozen = True
                await asyncio.sleep(rng.uniform(0.3, 1.5))
                proxy.frozen = False
                await pending
                faults["link stalled"] += 1
            elif roll < 0.975:
                pending = await sync_bg(devices[rng.randrange(3)])
                await restart_postgres(server)
                await pending
                faults["PostgreSQL restart"] += 1
            else:
                await op_create(dev)

        spent: Counter[str] = Counter()
        spent["start + pair"] = time.monotonic() - started
        while sum(ops[k] for k in TASK_OPS) < operations:
            step_started = time.monotonic()
            before = ops + faults
            await step()
            done = (ops + faults) - before
            spent[next(iter(done), "nothing")] += time.monotonic() - step_started

        # Heal: links and server are fine again; sync until every device is idle and equal.
        for proxy in proxies:
            proxy.frozen, proxy.cut_after, proxy.cut_down_after = False, None, None
        states: list[dict[str, dict[str, Any]]] = []
        statuses: list[dict[str, Any]] = []
        for _round in range(8):
            statuses = [await d.sync() for d in devices]
            states = [d.all_tasks() for d in devices]
            if all(s["last_error"] is None and s["pending_changes"] == 0 for s in statuses) and (
                states[0] == states[1] == states[2]
            ):
                break
        expected = model.expected()
        lost = [
            (t, f, device.name)
            for device, state in zip(devices, states, strict=True)
            for t, fields in expected.items()
            if t in state
            for f, v in fields.items()
            if state[t][f] != v
        ]
        missing = [
            (t, d.name)
            for d, s in zip(devices, states, strict=True)
            for t in expected
            if t not in s
        ]
        resurrected = [
            (t, d.name)
            for d, s in zip(devices, states, strict=True)
            for t in s
            if t in model.created and t not in expected
        ]
        duplicated = [
            (t, d.name)
            for d, s in zip(devices, states, strict=True)
            for t in s
            if t not in model.created
        ]
        integrity = [d.integrity() for d in devices]
        report = {
            "seed": seed,
            "devices": len(devices),
            "pgbouncer": "transaction mode",
            "clock_skew": f"device c {skew} s" if skew else "libfaketime missing: none",
            "operations": dict(ops),
            "operations_total": sum(ops[k] for k in TASK_OPS),
            "faults": dict(faults),
            "acknowledged_writes": model.acknowledged,
            "tasks_expected_visible": len(expected),
            "tasks_deleted": len(model.created) - len(expected),
            "identical_on_all_devices": bool(states) and states[0] == states[1] == states[2],
            "lost_writes": len(lost) + len(missing),
            "duplicated": len(duplicated),
            "resurrected": len(resurrected),
            "quarantined": sum(s.get("quarantined", 0) for s in statuses),
            "integrity_check": integrity,
            "seconds": round(time.monotonic() - started, 1),
            "seconds_by_step": {k: round(v, 1) for k, v in spent.items()},
        }
        artifacts = ROOT / "artifacts"
        artifacts.mkdir(exist_ok=True)
        (artifacts / f"sync-faults-{seed}.json").write_text(json.dumps(report, indent=1) + "\n")
        print("sync fault suite:", json.dumps(report))
        assert report["identical_on_all_devices"], [s["last_error"] for s in statuses]
        assert not lost and not missing, (lost[:5], missing[:5])
        assert not resurrected and not duplicated, (resurrected[:5], duplicated[:5])
        assert integrity == ["ok"] * 3
        assert report["quarantined"] == 0
        return report
    finally:
        await asyncio.gather(*(d.stop() for d in devices))
        for proxy in proxies:
            await proxy.stop()
        server.drop_database(database)


@pytest.mark.parametrize("seed", SEEDS)
async def test_three_devices_converge_under_faults(seed, tmp_path, pg_server, pgbouncer):
    if FAKETIME_LIB is None and os.environ.get("CI"):
        pytest.fail("CI must skew a clock: install faketime (scripts/setup.sh --test)")
    report = await run_seed(seed, OPERATIONS, tmp_path, pg_server, pgbouncer)
    assert report["operations_total"] >= OPERATIONS
    for kind in ("SIGKILL mid-sync + restart", "link cut", "link stalled", "PostgreSQL restart"):
        assert report["faults"].get(kind, 0) >= 1, (kind, report["faults"])
