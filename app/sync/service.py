"""The sync loop: push local changes, pull remote ones; status for the API and CLI.

A round = stamp pending local notes, push them in batches (each batch one server
transaction, then one local transaction that forgets the pushed notes), then pull in
batches (each batch applied together with the new cursor in one local transaction).
A crash or a dropped connection at any point leaves either the old or the new state on
each side; the next round redoes what is missing, and redoing is harmless (merges are
idempotent), so nothing is lost and nothing is duplicated.

Rounds run on start, shortly after each local change (debounced), every `interval`
seconds, and on demand (POST /api/sync/run, `taskchat sync`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import postgres
from app.db.uncancellable import run_to_end
from app.sync import local, pairing, remote
from app.sync.capture import attach, detach, stamp_pending
from app.sync.clock import HLC
from app.sync.crypto import RowCipher
from app.sync.settings import describe_url

log = logging.getLogger(__name__)

Connector = Callable[[str], Awaitable[asyncpg.Connection]]
T = TypeVar("T")


@dataclass
class RoundResult:
    pushed: int = 0
    pulled: int = 0
    applied: int = 0
    seconds: float = 0.0


@dataclass
class SyncStatus:
    enabled: bool
    target: str | None = None
    running: bool = False
    last_success: str | None = None
    last_attempt: str | None = None
    last_error: str | None = None
    pending_changes: int = 0
    last_round: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    # Rows left out of sync: values the app would refuse (app/sync/local.py) and rows
    # that failed authentication (app/sync/crypto.py, listed in `quarantine`).
    quarantined: int = 0
    problem: str | None = None
    encrypted: bool = False
    space: dict[str, Any] | None = None
    device: dict[str, Any] | None = None
    quarantine: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def explain(exc: BaseException, target: str) -> str:
    """A failure in plain words (never the URL or its password)."""
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return (
            f"The sync database at {target} refused the user name or password. Check the sync URL."
        )
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"The database named in the sync URL does not exist ({target})."
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"The TLS certificate of {target} could not be verified, so TaskChat did not "
            "send your data. Check the host name in the sync URL."
        )
    if isinstance(exc, ConnectionError) and "ssl" in str(exc).lower():
        return (
            f"{target} does not accept encrypted connections, but the sync URL requires "
            "them (sslmode=require)."
        )
    if isinstance(
        exc,
        asyncpg.ConnectionDoesNotExistError | asyncpg.InterfaceError | ConnectionResetError,
    ):
        return (
            f"The connection to {target} was lost during sync. Nothing was lost; "
            "TaskChat will try again."
        )
    if isinstance(exc, OSError | TimeoutError):
        return (
            f"Could not reach the sync database at {target} (offline, or the server is "
            "down). TaskChat will try again."
        )
    if isinstance(exc, asyncpg.PostgresError):
        return f"The sync database reported an error: {exc}"
    if isinstance(exc, RuntimeError):
        return str(exc)
    return f"Sync failed unexpectedly ({type(exc).__name__}). TaskChat will try again."


class SyncService:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        url: str,
        user_id: str,
        device_id: str,
        clock: HLC | None = None,
        interval: float = 60.0,
        debounce: float = 1.5,
        batch_size: int = 5000,
        connector: Connector | None = None,
        cipher: RowCipher | None = None,
        device_name: str | None = None,
    ) -> None:
        self.engine = engine
        self.url = url
        self.user_id = user_id
        # End to end encrypted (a sync space): rows are sealed before they leave and
        # opened when they arrive; the server files them under the space id. Without a
        # cipher: the unencrypted format, rows filed under the user id.
        self.cipher = cipher
        self.remote_user = cipher.space_id if cipher else user_id
        self.device_name = device_name or device_id
        self.removed = False
        self.clock = clock or HLC(device_id)
        self.interval = interval
        self.debounce = debounce
        self.batch_size = batch_size
        self.connector = connector or (lambda u: postgres.connect(u))
        self.target = describe_url(url)
        self.status = SyncStatus(
            enabled=True,
            target=self.target,
            encrypted=cipher is not None,
            device={"id": device_id, "name": self.device_name},
        )
        self._conn: asyncpg.Connection | None = None
        self._server_id: str | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._changed = False
        self._task: asyncio.Task[None] | None = None
        self._restored = False

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Start stamping local commits with this device's clock."""
        async with self.engine.begin() as conn:
            await conn.run_sync(local.restore_clock, self.clock)
        self._restored = True
        attach(self.engine, self.clock, on_change=self.notify_change)

    async def start(self) -> None:
        await self.open()
        self._wake.set()  # first round right away
        self._task = asyncio.create_task(self._loop(), name="taskchat-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        await self.close_connection()
        detach(self.engine)

    async def close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 2)
            except Exception:
                conn.terminate()

    def notify_change(self) -> None:
        self._changed = True
        self._wake.set()

    async def _loop(self) -> None:
        failures = 0
        while True:
            delay = self.interval if failures == 0 else min(self.interval, 2.0 * 2**failures)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass
            self._wake.clear()
            if self._changed:
                self._changed = False
                await asyncio.sleep(self.debounce)  # let a burst of edits settle
            try:
                await self.run_once()
                failures = 0
            except Exception:
                failures = min(failures + 1, 6)
            if self.interval > 120:
                await self.close_connection()  # let an idle Neon compute suspend

    # ------------------------------------------------------------------ one round

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self.connector(self.url)
            self._server_id = await remote.ensure_schema(self._conn)
            if self.cipher is not None:
                await pairing.ensure_schema(self._conn)
        return self._conn

    @property
    def _cursor_id(self) -> str:
        """Pull cursors are kept per database and, for a space, per space."""
        assert self._server_id is not None
        if self.cipher is None:
            return self._server_id
        return f"{self._server_id}/{self.cipher.space_id}"

    async def _check_membership(self, conn: asyncpg.Connection) -> None:
        if self.cipher is None:
            target = await pairing.upgraded_to(conn, self.user_id)
            if target:
                raise RuntimeError(
                    "This sync database is now end-to-end encrypted. Join its sync space "
                    "with the pairing code (Settings → Sync) to keep syncing."
                )
            return
        member = await pairing.touch_device(
            conn, self.cipher, device_id=self.clock.device_id, name=self.device_name
        )
        if not member:
            self.removed = True
            raise RuntimeError(
                "This device was removed from the sync space on another device, so it "
                "stopped syncing. Your data here is kept; join again with the pairing "
                "code to sync it."
            )

    async def pending(self) -> int:
        async with self.engine.connect() as conn:
            return await conn.run_sync(local.pending_rows, self.user_id)

    async def get_status(self) -> dict[str, Any]:
        try:
            self.status.pending_changes = await self.pending()
            async with self.engine.connect() as conn:
                held = await conn.run_sync(local.quarantined)
                forged, rows = await conn.run_sync(pairing.quarantined)
            self.status.quarantined = len(held) + forged
            self.status.quarantine = rows
            problems = [local.describe_quarantine(held)] if held else []
            if forged:
                problems.append(
                    f"{forged} synced item(s) failed the encryption check (changed in the "
                    "sync database by someone without your key) and were set aside unread."
                )
            self.status.problem = " ".join(p for p in problems if p) or None
        except Exception:
            pass
        return self.status.as_dict()

    async def run_once(self) -> RoundResult:
        async with self._lock:
            if not self._restored:
                await self.open()
            self.status.running = True
            self.status.last_attempt = _now_iso()
            started = time.perf_counter()
            result = RoundResult()
            try:
                reused = self._conn is not None and not self._conn.is_closed()
                conn = await self._connection()
                try:
                    await self._check_membership(conn)
                    await self._push_all(conn, result)
                    await self._pull_all(conn, result)
                except (OSError, asyncpg.InterfaceError, asyncpg.ConnectionDoesNotExistError):
                    if not reused:
                        raise
                    # A kept-open connection went stale (server restart, idle timeout,
                    # suspended Neon compute): once more on a new one; redoing is harmless.
                    await self.close_connection()
                    conn = await self._connection()
                    await self._push_all(conn, result)
                    await self._pull_all(conn, result)
            except BaseException as exc:
                await self.close_connection()
                if isinstance(exc, Exception):
                    self.status.last_error = explain(exc, self.target)
                    log.warning("sync failed (%s): %s", type(exc).__name__, exc)
                raise
            finally:
                self.status.running = False
            result.seconds = round(time.perf_counter() - started, 4)
            self.status.last_success = _now_iso()
            self.status.last_error = None
            self.status.last_round = asdict(result)
            return result

    async def _push_all(self, conn: asyncpg.Connection, result: RoundResult) -> None:
        assert self._server_id is not None
        batch = await self._local(self._read_batch, 0)
        while batch is not None:
            rows = self.cipher.seal_rows(batch.rows) if self.cipher else batch.rows
            # While PostgreSQL (its own process) merges this batch, the next one is read
            # here: the notes after this batch's, which its acknowledgement never touches.
            pushing = asyncio.create_task(remote.push(conn, self.remote_user, rows))
            following = await self._beside(pushing, self._local(self._read_batch, batch.upto))
            base, last = await pushing
            await self._local(local.ack_push, batch.upto, self._cursor_id, base, last)
            result.pushed += len(batch.rows)
            batch = following

    async def _pull_all(self, conn: asyncpg.Connection, result: RoundResult) -> None:
        assert self._server_id is not None
        server_id = self._cursor_id
        cursor = await self._local(local.get_cursor, server_id)
        if await remote.head(conn, self.remote_user) <= cursor:
            return
        # Only the fields changed since the cursor (where the server knows them): an edit
        # of two fields of 10k tasks pulled, opened and checked all 19 of each.
        rows = await remote.pull(conn, self.remote_user, cursor, self.batch_size, True)
        while rows:
            new_cursor = rows[-1]["seq"]
            # The next batch is fetched while this one is applied here.
            fetching = asyncio.create_task(
                remote.pull(conn, self.remote_user, new_cursor, self.batch_size, True)
            )
            applied = await self._beside(
                fetching, self._local(self._apply_pulled, server_id, cursor, rows, new_cursor)
            )
            following = await fetching
            while isinstance(applied, list):
                # Rows that came in part but are missing here: fetch them whole (a newer
                # version is fine: merges are idempotent) and apply the batch again.
                wanted = set(applied)
                whole = {
                    (r["e"], r["id"]): r
                    for r in await remote.whole_rows(conn, self.remote_user, applied)
                }
                rows = [
                    whole[key] if key in wanted else r
                    for r in rows
                    if (key := (r["e"], r["id"])) not in wanted or key in whole
                ]
                applied = await self._local(self._apply_pulled, server_id, cursor, rows, new_cursor)
            if applied is None:  # another round moved the cursor meanwhile: go on from it
                cursor = await self._local(local.get_cursor, server_id)
                rows = await remote.pull(conn, self.remote_user, cursor, self.batch_size, True)
                continue
            result.applied += applied
            result.pulled += len(rows)
            cursor, rows = new_cursor, following

    @staticmethod
    async def _beside(other: asyncio.Task[Any], work: Awaitable[T]) -> T:
        """Await `work` while task `other` runs; if `work` fails or is cancelled, `other`
        is cancelled and waited for (no query is left running on the connection)."""
        try:
            return await work
        except BaseException:
            other.cancel()
            with contextlib.suppress(BaseException):
                await other
            raise

    def _read_batch(self, sync_conn: Any, after: int) -> local.PushBatch | None:
        # In a space only the fields this batch's notes name are sent (what changed here
        # since the last acknowledged push; a new space gets every field noted by
        # pairing.enqueue_all): sealing costs per value, and the server keeps the others.
        return local.read_push_batch(
            sync_conn,
            self.user_id,
            self.clock,
            self.batch_size,
            after=after,
            only_noted=self.cipher is not None,
        )

    def _apply_pulled(
        self, sync_conn: Any, server_id: str, cursor: int, rows: list[Any], new_cursor: int
    ) -> int | list[tuple[str, str]] | None:
        """Apply pulled rows if the cursor is still where they were pulled from (else
        None); the keys of rows that must come whole first (nothing applied then)."""
        if local.get_cursor(sync_conn, server_id) != cursor:
            return None  # another round moved it meanwhile: re-read
        # Stamped first, so what is read here is what the merge sees.
        stamp_pending(sync_conn, self.clock)
        known = local.read_known(sync_conn, rows)
        missing = local.need_whole(sync_conn, rows, known)
        if missing:
            return missing
        if self.cipher is not None:
            # Only fields that can win here are decrypted (the others are never applied);
            # a row that fails authentication is set aside and reported, never applied.
            opened = self.cipher.open_rows(rows, pairing.wanted_fields(sync_conn, rows, known))
            if opened.quarantined:
                pairing.quarantine(sync_conn, opened.quarantined)
                log.warning("sync: %d rows failed authentication", len(opened.quarantined))
            rows = opened.rows
        return local.apply_remote(
            sync_conn, self.user_id, self.clock, rows, server_id, new_cursor, known
        )

    async def _local(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` in one local transaction that runs to its end.

        A round can be cancelled at any await (TaskChat stopping, a test killing a device
        mid-sync). Cancelled in the middle of an aiosqlite call, SQLAlchemy drops the
        connection without closing it, and its open write transaction then holds SQLite's
        lock for good: later writes fail with "database is locked". So the transaction runs
        in a task of its own that the cancellation does not reach, and the cancellation is
        passed on only once that transaction has committed or rolled back: whoever awaits
        the cancelled round (`stop()`, then the engine's disposal) finds it finished.
        (`asyncio.shield` alone would raise at once and leave the transaction running.)
        """

        async def transaction() -> T:
            async with self.engine.begin() as conn:
                return await conn.run_sync(fn, *args)

        return await run_to_end(transaction())
