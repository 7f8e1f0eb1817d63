"""Property test: 3 SQLite devices + PostgreSQL converge to "every field holds its highest
(HLC, device) write, deletions included", whatever happens in between.

Random create/update/delete/complete on tasks, create/rename/delete threads and add items,
interleaved with syncs and faults injected through real mechanisms: connections cut by a
TCP proxy at an arbitrary byte in either direction (mid-push, mid-pull, lost COMMIT
reply), pushes captured and replayed later (duplicated, reordered), device clocks skewed
by minutes (a wall clock passed to the HLC), and sync rounds cancelled at a random moment
(a device killed mid-sync, restarted with a fresh service).

Each example uses its own user id on one PostgreSQL database (rows are user-scoped).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from chatkit.types import AssistantMessageContent, AssistantMessageItem, ThreadMetadata
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.chat.store import ChatContext, SqlStore
from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine
from app.db.postgres import connect
from app.errors import NotFound
from app.sync import local, remote
from app.sync.clock import wall_ms
from app.sync.local import is_visible
from app.tasks.models import Task
from tests.pg import run_sync
from tests.sync_util import Device
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

EXAMPLES = int(os.environ.get("TASKCHAT_SYNC_EXAMPLES", "200"))
DEVICES = ("dev-a", "dev-b", "dev-c")
SETTLE_PASSES = 6
FIELDS = local.SYNCED
STATS = {
    "examples": 0,
    "lost_writes": 0,
    "steps": 0,
    "cuts": 0,
    "kills": 0,
    "replays": 0,
    "most_passes": 0,
}

titles = st.text(alphabet="abcdefgh XYZ", min_size=1, max_size=12).map(str.strip).filter(bool)
dev = st.integers(0, len(DEVICES) - 1)
idx = st.integers(0, 50)
step = st.one_of(
    st.tuples(st.just("create_task"), dev, titles, st.sampled_from(["none", "low", "high"])),
    st.tuples(st.just("rename"), dev, idx, titles),
    st.tuples(st.just("complete"), dev, idx, st.booleans()),
    st.tuples(st.just("retag"), dev, idx, st.lists(st.sampled_from(["a", "b", "c"]), max_size=2)),
    st.tuples(st.just("delete_task"), dev, idx),
    st.tuples(st.just("undo_delete"), dev, idx),
    st.tuples(st.just("create_thread"), dev, titles),
    st.tuples(st.just("rename_thread"), dev, idx, titles),
    st.tuples(st.just("add_item"), dev, idx, titles),
    st.tuples(st.just("delete_thread"), dev, idx),
    st.tuples(st.just("sync"), dev),
    st.tuples(st.just("sync"), dev),
    st.tuples(st.just("cut"), dev, st.booleans(), st.integers(0, 12000)),
    st.tuples(st.just("kill"), dev, st.integers(0, 25)),
    st.tuples(st.just("capture"), dev),
    st.tuples(st.just("capture"), dev),
    st.tuples(st.just("replay"), idx),
    st.tuples(st.just("replay"), idx),
    st.tuples(st.just("skew"), dev, st.integers(-10, 10)),
)


def _max(a: list | None, b: list) -> list:
    return b if a is None or (b[-2], b[-1]) > (a[-2], a[-1]) else a


class Reference:
    """Every write ever made, folded to the highest (hlc, device) per field."""

    def __init__(self) -> None:
        self.fields: dict[tuple[str, str], dict[str, list]] = {}
        self.tombs: dict[tuple[str, str], list] = {}

    def fold(self, snap: dict[tuple[str, str], dict[str, Any]]) -> None:
        for key, row in snap.items():
            mine = self.fields.setdefault(key, {})
            for name, write in row["f"].items():
                mine[name] = _max(mine.get(name), write)
            if row["d"]:
                self.tombs[key] = _max(self.tombs.get(key), row["d"])

    def visible(self) -> dict[tuple[str, str], dict[str, Any]]:
        out = {}
        for key, fields in self.fields.items():
            if not self.alive(key):
                continue
            if key[0] == "chat_item" and not self.alive(("chat_thread", fields["thread_id"][0])):
                continue
            out[key] = {n: w[0] for n, w in fields.items()}
        return out

    def alive(self, key: tuple[str, str]) -> bool:
        """Deleted while the newest delete is newer than every field write."""
        tomb = self.tombs.get(key)
        stamps = [(w[-2], w[-1]) for w in self.fields.get(key, {}).values()]
        return tomb is None or (bool(stamps) and max(stamps) > (tomb[0], tomb[1]))


async def device_snapshot(d: Device) -> dict[tuple[str, str], dict[str, Any]]:
    """Every row of the device's user: field values with their stamps, and tombstones."""
    snap: dict[tuple[str, str], dict[str, Any]] = {}
    async with d.engine.connect() as conn:
        clocks: dict[tuple[str, str], dict[str, list]] = {}
        for e, rid, f, h, dv in await conn.execute(
            text("SELECT entity, row_id, field, hlc, device FROM sync_clock")
        ):
            clocks.setdefault((e, rid), {})[f] = [h, dv]
        for entity, fields in FIELDS.items():
            cols = ", ".join(f'"{f}"' for f in fields)
            rows = await conn.execute(
                text(f"SELECT id, {cols} FROM {entity} WHERE user_id = :u"), {"u": d.user_id}
            )
            for r in rows:
                stamps = clocks.get((entity, r[0]), {})
                snap[(entity, r[0])] = {
                    "f": {
                        f: [v, *stamps[f]]
                        for f, v in zip(fields, r[1:], strict=True)
                        if f in stamps
                    },
                    "d": None,
                }
        for (entity, rid), stamps in clocks.items():
            if "_deleted" in stamps:
                snap.setdefault((entity, rid), {"f": {}, "d": None})["d"] = stamps["_deleted"]
    return snap


async def visible_rows(d: Device) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for entity, fields in FIELDS.items():
        for rid, values in (await d.table(entity, fields)).items():
            out[(entity, rid)] = values
    return out


class Scenario:
    def __init__(self, root: Path, template: Path, pg_url: str, proxy: TcpProxy) -> None:
        self.user = f"u-{uuid.uuid4().hex[:10]}"
        self.skew = dict.fromkeys(DEVICES, 0)
        self.devices: list[Device] = []
        self.proxy = proxy
        self.pg_url = pg_url
        db = pg_url.rsplit("/", 1)[1]
        self.proxied_url = proxy.url(db)
        for name in DEVICES:
            (root / name).mkdir(parents=True)
            shutil.copy(template, root / name / "taskchat.db")
            wall = (lambda n: lambda: wall_ms() + self.skew[n] * 60_000)(name)
            # The HLC device id is unique per example too (ties are broken by it).
            self.devices.append(
                Device(root, name, self.user, self.proxied_url, wall=wall, batch_size=7)
            )
        self.ref = Reference()
        self.tasks: list[str] = []
        self.threads: list[str] = []
        self.captured: list[list[dict]] = []
        self.deleted: list[dict] = []

    async def open(self) -> None:
        for d in self.devices:
            await d.restart_sync()

    async def close(self) -> None:
        for d in self.devices:
            await d.close()

    def store(self, d: Device) -> SqlStore:
        return SqlStore(d.sessionmaker)

    async def observe(self, d: Device) -> None:
        self.ref.fold(await device_snapshot(d))

    async def sync(self, d: Device) -> None:
        try:
            await d.run()
        except Exception:
            await d.sync.close_connection()

    async def do(self, op: tuple) -> None:
        kind = op[0]
        STATS["steps"] += 1
        if kind == "replay":
            if self.captured:
                conn = await connect(self.pg_url)
                try:
                    await remote.ensure_schema(conn)
                    await remote.push(conn, self.user, self.captured[op[1] % len(self.captured)])
                finally:
                    await conn.close()
                STATS["replays"] += 1
            return
        d = self.devices[op[1]]
        ctx = ChatContext(user_id=self.user)
        try:
            if kind == "create_task":
                async with d.sessionmaker() as s:
                    from app.tasks import service
                    from app.tasks.models import TaskCreate

                    t = await service.create_task(
                        session=s, user_id=self.user, data=TaskCreate(title=op[2], priority=op[3])
                    )
                self.tasks.append(t.id)
            elif kind in ("rename", "complete", "retag", "delete_task"):
                if not self.tasks:
                    return
                tid = self.tasks[op[2] % len(self.tasks)]
                if kind == "rename":
                    assert (await d.update(tid, title=op[3])).title == op[3]
                elif kind == "complete":
                    assert (await d.update(tid, completed=op[3])).completed == op[3]
                elif kind == "retag":
                    await d.update(tid, tags=op[3])
                else:
                    async with d.sessionmaker() as s:
                        row = await s.get(Task, tid)
                        image = row.model_dump() if row and row.user_id == self.user else None
                    await d.delete(tid)
                    if image:
                        self.deleted.append(image)
            elif kind == "undo_delete":
                # What app/tasks/undo.py does: the task comes back with its old id.
                if not self.deleted:
                    return
                image = self.deleted[op[2] % len(self.deleted)]
                async with d.sessionmaker() as s:
                    if await s.get(Task, image["id"]) is not None:
                        return
                    s.add(Task(**image))
                    await s.commit()
            elif kind == "create_thread":
                store = self.store(d)
                meta = ThreadMetadata(
                    id=store.generate_thread_id(ctx), title=op[2], created_at=datetime.now(UTC)
                )
                await store.save_thread(meta, ctx)
                self.threads.append(meta.id)
            elif kind in ("rename_thread", "add_item", "delete_thread"):
                if not self.threads:
                    return
                tid = self.threads[op[2] % len(self.threads)]
                store = self.store(d)
                if kind == "rename_thread":
                    meta = await store.load_thread(tid, ctx)
                    meta.title = op[3]
                    await store.save_thread(meta, ctx)
                elif kind == "add_item":
                    meta = await store.load_thread(tid, ctx)
                    item = AssistantMessageItem(
                        id=f"msg_{uuid.uuid4().hex}",
                        thread_id=tid,
                        created_at=datetime.now(UTC),
                        content=[AssistantMessageContent(text=op[3])],
                    )
                    await store.add_thread_item(tid, item, ctx)
                else:
                    await store.delete_thread(tid, ctx)
            elif kind == "sync":
                await self.sync(d)
            elif kind == "cut":
                await d.sync.close_connection()
                if op[2]:
                    self.proxy.cut_after = op[3]
                else:
                    self.proxy.cut_down_after = op[3]
                try:
                    await self.sync(d)
                finally:
                    self.proxy.cut_after = self.proxy.cut_down_after = None
                    await d.sync.close_connection()  # its budget must not outlive the step
                STATS["cuts"] += 1
            elif kind == "kill":
                task = asyncio.create_task(d.run())
                await asyncio.sleep(op[2] / 1000)
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
                await d.restart_sync()  # a new process: fresh service, fresh connection
                STATS["kills"] += 1
            elif kind == "capture":
                async with d.engine.begin() as conn:
                    batch = await conn.run_sync(local.read_push_batch, self.user, d.clock, 50)
                if batch and batch.rows:
                    self.captured.append(batch.rows)
            elif kind == "skew":
                self.skew[d.name] = op[2]
        except NotFound:
            return  # the row is not on this device (yet, or any more)
        except Exception as exc:
            if type(exc).__name__ != "NotFoundError":
                raise
            return
        await self.observe(d)

    async def settle_and_check(self) -> int:
        self.proxy.cut_after = self.proxy.cut_down_after = None
        # Until a pass over the devices pushes and changes nothing: merged rows can need a
        # repair (app/lists/ordering.py), a new write that the devices synced before it
        # get only in a later pass. Endless repairs (devices undoing each other's) would
        # never quiet down.
        for _pass in range(SETTLE_PASSES):
            results = [await d.run() for d in self.devices]
            if not any(r.pushed or r.applied for r in results):
                STATS["most_passes"] = max(STATS["most_passes"], _pass + 1)
                break
        else:
            raise AssertionError(f"still syncing changes after {SETTLE_PASSES} passes")
        for d in self.devices:
            await self.observe(d)  # pulled rows carry the same stamps: no new writes
        expected = self.ref.visible()
        lost = 0
        for d in self.devices:
            got = await visible_rows(d)
            lost += _diff(expected, got, d.name)
            assert (await d.sync.get_status())["pending_changes"] == 0
        conn = await connect(self.pg_url)
        try:
            server = await remote.snapshot(conn, self.user)
        finally:
            await conn.close()
        server_visible = {}
        for key, row in server.items():
            stamps = [(w[1], w[2]) for w in row["f"].values()]
            if not is_visible(row["d"], stamps):
                assert key in self.ref.tombs, f"server deleted {key} that nobody deleted"
                continue
            if key[0] == "chat_item":
                thread = server.get(("chat_thread", row["f"]["thread_id"][0]))
                if thread is not None and not is_visible(
                    thread["d"], [(w[1], w[2]) for w in thread["f"].values()]
                ):
                    continue
                if thread is None and not self.ref.alive(("chat_thread", row["f"]["thread_id"][0])):
                    continue
            server_visible[key] = {n: w[0] for n, w in row["f"].items()}
        lost += _diff(expected, server_visible, "postgres")
        return lost


def _diff(expected: dict, got: dict, where: str) -> int:
    lost = 0
    for key, fields in expected.items():
        have = got.get(key)
        if have is None:
            lost += len(fields)
            print(f"{where}: missing {key}")
            continue
        for name, value in fields.items():
            if have.get(name) != value:
                lost += 1
                print(f"{where}: {key}.{name} = {have.get(name)!r}, expected {value!r}")
    for key in got.keys() - expected.keys():
        lost += 1
        print(f"{where}: unexpected row {key}")
    return lost


@pytest.fixture(scope="module")
def sync_env(pg_server, tmp_path_factory, request):
    root = tmp_path_factory.mktemp("prop")
    template = root / "template" / "taskchat.db"

    async def make_template() -> None:
        engine = create_engine(Settings(data_dir=template.parent, database_url=None))
        await migrate.upgrade(engine)
        await engine.dispose()

    run_sync(make_template())
    name = pg_server.create_database(prefix="prop")
    yield root, template, pg_server, pg_server.url(name)
    pg_server.drop_database(name)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is not None and STATS["examples"]:
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                "sync property test: {examples} examples, {steps} steps, {cuts} cut "
                "connections, {kills} killed rounds, {replays} replayed pushes, lost "
                "writes: {lost_writes}; settled in at most {most_passes} passes".format(**STATS)
            )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # A fixed set of examples, the same every run, so the suite's verdict does not depend on
    # the draw; TASKCHAT_SYNC_EXPLORE=1 draws new ones.
    derandomize=not os.environ.get("TASKCHAT_SYNC_EXPLORE"),
)
@given(steps=st.lists(step, min_size=6, max_size=30))
@example(
    # A task put back (undo) on a device that never had the Inbox it belongs to: the
    # devices that get it repair it by creating the Inbox there, a write made during the
    # settling syncs that the others pull only in a later round.
    steps=[("create_task", 2, "X", "none"), ("delete_task", 2, 0), ("undo_delete", 0, 0)]
)
def test_devices_and_server_converge_to_the_highest_write(sync_env, steps):
    root, template, pg_server, pg_url = sync_env
    example_root = root / uuid.uuid4().hex[:8]

    async def run() -> int:
        proxy = await TcpProxy(pg_server.host, pg_server.port).start()
        scenario = Scenario(example_root, template, pg_url, proxy)
        try:
            await scenario.open()
            for op in steps:
                await scenario.do(op)
            return await scenario.settle_and_check()
        finally:
            await scenario.close()
            await proxy.stop()

    started = time.perf_counter()
    lost = asyncio.run(run())
    shutil.rmtree(example_root, ignore_errors=True)
    STATS["examples"] += 1
    STATS["lost_writes"] += lost
    assert lost == 0, f"{lost} lost writes ({time.perf_counter() - started:.2f}s)"
