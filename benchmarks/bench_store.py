"""Chat store at scale and the server process: python -m benchmarks.bench_store [--quick].

- items.list (a page of 100) on a thread of 10,000 items: the newest page and a page deep
  in the thread, each as a ratio to the same request on a 10-item thread in the same run.
- threads.list (a page of 50) with 10,000 threads, first page and a deep page, as a ratio
  to the same request for a user with 10 threads.
- Cold start: `python -m app serve` process start until /api/health answers, as a ratio
  to a bare `python -c pass` started the same way.
- Idle RSS of the serve process: after start-up, and after the item/thread benchmarks.

The server runs in its own process (benchmarks.bench_load.served); the data are written
straight into its SQLite file beforehand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

from app.chat.models import ChatItem, ChatThread
from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine
from app.profile import local_user_id
from benchmarks.bench_load import served, session_cookie
from benchmarks.report import Figure, print_table, time_async, write_json
from tests.fakes.gemini import FakeGemini

BIG = 10_000
SMALL = 10


def _item(thread_id: str, user_id: str, n: int, at: datetime) -> dict:
    kind = "user_message" if n % 2 == 0 else "assistant_message"
    item_id = f"msg_{thread_id[-8:]}_{n:06}"
    created = at + timedelta(seconds=n)
    if kind == "user_message":
        data = {
            "id": item_id,
            "thread_id": thread_id,
            "created_at": created.isoformat(),
            "type": kind,
            "content": [{"type": "input_text", "text": f"message number {n}, add a task"}],
            "attachments": [],
            "inference_options": {},
        }
    else:
        data = {
            "id": item_id,
            "thread_id": thread_id,
            "created_at": created.isoformat(),
            "type": kind,
            "content": [{"type": "output_text", "text": f"Reply {n}: done.", "annotations": []}],
        }
    return {
        "id": item_id,
        "thread_id": thread_id,
        "user_id": user_id,
        "type": kind,
        "created_at": created,
        "seq": n + 1,
        "data": data,
    }


def _thread(thread_id: str, user_id: str, at: datetime) -> dict:
    return {
        "id": thread_id,
        "user_id": user_id,
        "title": f"Thread {thread_id[-6:]}",
        "status": {"type": "active"},
        "metadata": {},
        "created_at": at,
        "updated_at": at,
    }


async def seed(settings: Settings, big: int) -> dict[str, str]:
    """Threads and items for the local user (big) and a second user (small)."""
    user = local_user_id(settings)
    other = "bench-small-user"
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    ids = {"big_items": "thr_big_items_0000", "small_items": "thr_small_items_00"}
    async with engine.begin() as conn:
        threads = [_thread(ids["big_items"], user, at), _thread(ids["small_items"], other, at)]
        threads += [
            _thread(f"thr_many_{n:06}", user, at + timedelta(seconds=n)) for n in range(big)
        ]
        threads += [
            _thread(f"thr_few_{n:06}", other, at + timedelta(seconds=n)) for n in range(SMALL)
        ]
        for i in range(0, len(threads), 2000):
            await conn.execute(insert(ChatThread), threads[i : i + 2000])
        items = [_item(ids["big_items"], user, n, at) for n in range(big)]
        items += [_item(ids["small_items"], other, n, at) for n in range(SMALL)]
        for i in range(0, len(items), 2000):
            await conn.execute(insert(ChatItem), items[i : i + 2000])
    await engine.dispose()
    return {**ids, "user": user, "other": other}


def _req(kind: str, **params: object) -> str:
    return json.dumps({"type": kind, "params": params})


async def _timed(client: httpx.AsyncClient, body: str, runs: int) -> list[float]:
    async def once() -> None:
        r = await client.post("/api/chatkit", content=body)
        r.raise_for_status()

    return await time_async(once, runs=runs)


def _ratio(fig: Figure, base: Figure) -> Figure:
    fig.extra = {"ratio_median": fig.median / base.median, "ratio_p95": fig.p95 / base.p95}
    fig.target = f"x{fig.extra['ratio_median']:.2f} vs {base.name.split(': ', 1)[-1]}"
    return fig


def _rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / (1024 * 1024)


async def store_figures(big: int, runs: int) -> list[Figure]:
    fake = FakeGemini().start()
    figures: list[Figure] = []
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = Settings(data_dir=data_dir)
            ids = await seed(settings, big)
            with served(fake, data_dir) as (url, launch, proc):
                headers = session_cookie(launch)
                await asyncio.sleep(1.0)
                rss_start = _rss_mb(proc.pid)
                other = _other_headers(data_dir, ids["other"])
                async with (
                    httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as mine,
                    httpx.AsyncClient(base_url=url, headers=other, timeout=60) as theirs,
                ):
                    big_n = f"{big:,}"
                    # items.list: newest page (desc, as the UI opens a thread) and a deep page.
                    base = Figure(
                        f"items.list baseline: {SMALL}-item thread",
                        await _timed(theirs, _req("items.list", thread_id=ids["small_items"],
                                                  limit=100, order="desc"), runs),
                    )  # fmt: skip
                    newest = Figure(
                        f"items.list: newest 100 of a {big_n}-item thread",
                        await _timed(mine, _req("items.list", thread_id=ids["big_items"],
                                                limit=100, order="desc"), runs),
                    )  # fmt: skip
                    deep_after = f"msg_{ids['big_items'][-8:]}_{big // 2:06}"
                    deep = Figure(
                        f"items.list: 100 from the middle of a {big_n}-item thread",
                        await _timed(mine, _req("items.list", thread_id=ids["big_items"],
                                                limit=100, order="asc", after=deep_after), runs),
                    )  # fmt: skip
                    figures += [_ratio(newest, base), _ratio(deep, base), base]
                    tbase = Figure(
                        f"threads.list baseline: {SMALL} threads",
                        await _timed(theirs, _req("threads.list", limit=50, order="desc"), runs),
                    )
                    first = Figure(
                        f"threads.list: first 50 of {big_n} threads",
                        await _timed(mine, _req("threads.list", limit=50, order="desc"), runs),
                    )
                    tdeep = Figure(
                        f"threads.list: 50 from the middle of {big_n} threads",
                        await _timed(mine, _req("threads.list", limit=50, order="desc",
                                                after=f"thr_many_{big // 2:06}"), runs),
                    )  # fmt: skip
                    figures += [_ratio(first, tbase), _ratio(tdeep, tbase), tbase]
                await asyncio.sleep(1.0)
                rss_after = _rss_mb(proc.pid)
                figures.append(
                    Figure("idle RSS after start-up", [rss_start], unit="MB", note="serve process")
                )
                figures.append(
                    Figure(
                        "idle RSS after the list benchmarks",
                        [rss_after],
                        unit="MB",
                        note=f"{big_n} threads + {big_n} items in the DB",
                    )
                )
    finally:
        fake.stop()
    return figures


def _other_headers(data_dir: str, user_id: str) -> dict[str, str]:
    """A Bearer session for a second user, signed with the serve process's own secret
    (with the `fail` keyring backend it lives in the data folder)."""
    from app.security.keystore import SIGNING_SECRET_FILE, _decode_secret
    from app.security.sessions import SessionManager

    secret = _decode_secret((Path(data_dir) / SIGNING_SECRET_FILE).read_text().strip())
    assert secret is not None
    manager = SessionManager(secret, session_seconds=3600, default_user_id=user_id)
    return {"Authorization": f"Bearer {manager.mint_session_token(user_id)}"}


def cold_start(runs: int) -> list[Figure]:
    """Process start to /api/health 200, vs a bare interpreter start."""
    base = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base.append((time.perf_counter() - t0) * 1000)
    samples = []
    fake = FakeGemini().start()
    try:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as data_dir:
                t0 = time.perf_counter()
                with served(fake, data_dir) as (url, _launch, _proc):
                    while True:
                        try:
                            if httpx.get(f"{url}/api/health", timeout=5).status_code == 200:
                                break
                        except httpx.HTTPError:
                            time.sleep(0.005)
                    samples.append((time.perf_counter() - t0) * 1000)
    finally:
        fake.stop()
    bare = Figure("cold start baseline: python -c pass", base)
    serve = Figure(
        "cold start: `python -m app serve` to /api/health", samples, note="fresh data folder"
    )
    _ratio(serve, bare)
    serve.target = f"<= 2000 ms; {serve.target}"
    return [serve, bare]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=BIG)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="tiny run to check it works")
    args = parser.parse_args(argv)
    size, runs, starts = (500, 5, 2) if args.quick else (args.size, args.runs, args.starts)
    figures = asyncio.run(store_figures(size, runs)) + cold_start(starts)
    print_table(f"Chat store ({size:,} items / threads) and server process", figures)
    if not args.quick:
        print(f"written {write_json('store', figures, size=size, runs=runs)}")
    return {f.name: f.to_json() for f in figures}


if __name__ == "__main__":
    main()
