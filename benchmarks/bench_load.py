"""Load: N concurrent chat streams plus task API traffic against one server.

    python -m benchmarks.bench_load [--streams 50] [--chunks 40] [--rounds 3] [--quick]

The server runs as `python -m app serve` in its own process (as in use); a fake Gemini in
this process streams every reply with realistic pacing (20 ms between chunks), and one in
five conversations makes the model call `create_task`. Meanwhile REST workers create,
edit, complete, list and delete tasks. Afterwards the database is checked: every stream
ended without an error, every thread holds exactly its one user message and one reply,
every tool-made task exists exactly once, and no request saw `database is locked`.
tests/test_load_chat.py runs the same driver (shorter replies) in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.report import Figure, percentile, print_table, write_json
from benchmarks.serving import serve, session_headers
from tests.fakes.gemini import FakeGemini, Recorded, Reply, Text, ToolCalls

TOOL_EVERY = 5  # one stream in five makes the model create a task
CHUNK_DELAY = 0.02
LOAD_ENV = {
    "TASKCHAT_CHAT_PER_MINUTE": "0",  # 0 = no per-minute limit
    "TASKCHAT_DAILY_MESSAGE_CAP": "0",  # 0 = no daily cap
    "TASKCHAT_MAX_RETRIES": "0",
}


def pacing_router(chunks: int, delay: float = CHUNK_DELAY):
    """Replies chosen from the request, so concurrent conversations each get their own."""

    def route(request: Recorded) -> Reply:
        last = request.messages[-1] if request.messages else {}
        if last.get("role") == "tool":
            return Text(["Done", "."], delay=delay)
        text = last.get("content")
        if isinstance(text, list):
            text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
        text = text or ""
        if text.startswith("tool:"):
            return ToolCalls([("create_task", {"title": text.removeprefix("tool:")})])
        return Text([f"w{i} " for i in range(chunks)], delay=delay)

    return route


@dataclass
class Outcome:
    first_event_ms: list[float] = field(default_factory=list)
    first_delta_ms: list[float] = field(default_factory=list)
    stream_ms: list[float] = field(default_factory=list)
    rest_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    threads: dict[str, str] = field(default_factory=dict)  # thread id -> message sent
    tool_titles: list[str] = field(default_factory=list)
    rest_alive: set[str] = field(default_factory=set)
    rest_deleted: set[str] = field(default_factory=set)
    wall_s: float = 0.0


def _create(text: str) -> str:
    content = [{"type": "input_text", "text": text}]
    params = {"input": {"content": content, "attachments": [], "inference_options": {}}}
    return json.dumps({"type": "threads.create", "params": params})


async def _one_stream(client: httpx.AsyncClient, n: int, tag: str, out: Outcome) -> None:
    tool = n % TOOL_EVERY == 0
    text = f"tool:load task {tag}-{n}" if tool else f"hello from stream {tag}-{n}"
    start = time.perf_counter()
    first = delta = None
    tid = None
    try:
        async with client.stream("POST", "/api/chatkit", content=_create(text)) as r:
            if r.status_code != 200:
                out.errors.append(f"stream {n}: HTTP {r.status_code} {(await r.aread())[:200]!r}")
                return
            async for line in r.aiter_lines():
                if not line.startswith("data: "):
                    continue
                now = time.perf_counter()
                first = first or now
                event = json.loads(line[6:])
                if event["type"] == "thread.created":
                    tid = event["thread"]["id"]
                elif event["type"] == "thread.item.updated" and delta is None:
                    delta = now
                elif event["type"] == "error":
                    out.errors.append(f"stream {n}: {event}")
    except httpx.HTTPError as exc:
        out.errors.append(f"stream {n}: {type(exc).__name__} {exc}")
        return
    end = time.perf_counter()
    if first is not None:
        out.first_event_ms.append((first - start) * 1000)
    if delta is not None:
        out.first_delta_ms.append((delta - start) * 1000)
    out.stream_ms.append((end - start) * 1000)
    if tid:
        out.threads[tid] = text
    if tool:
        out.tool_titles.append(text.removeprefix("tool:"))


async def _rest_worker(
    client: httpx.AsyncClient, w: str, stop: asyncio.Event, out: Outcome
) -> None:
    i = 0
    while not stop.is_set():
        i += 1
        t0 = time.perf_counter()
        try:
            r = await client.post("/api/tasks", json={"title": f"rest {w}-{i}", "tags": ["load"]})
            if r.status_code != 201:
                out.errors.append(f"rest create: {r.status_code} {r.text[:200]}")
                continue
            task_id = r.json()["id"]
            out.rest_alive.add(task_id)
            r = await client.patch(f"/api/tasks/{task_id}", json={"priority": "high"})
            if r.status_code != 200:
                out.errors.append(f"rest patch: {r.status_code} {r.text[:200]}")
            r = await client.post(f"/api/tasks/{task_id}/complete")
            if r.status_code != 200:
                out.errors.append(f"rest complete: {r.status_code} {r.text[:200]}")
            r = await client.get("/api/tasks", params={"q": "rest", "limit": 20})
            if r.status_code != 200:
                out.errors.append(f"rest list: {r.status_code} {r.text[:200]}")
            if i % 3 == 0:
                r = await client.delete(f"/api/tasks/{task_id}")
                if r.status_code != 204:
                    out.errors.append(f"rest delete: {r.status_code} {r.text[:200]}")
                else:
                    out.rest_alive.discard(task_id)
                    out.rest_deleted.add(task_id)
        except httpx.HTTPError as exc:
            out.errors.append(f"rest: {type(exc).__name__} {exc}")
        out.rest_ms.append((time.perf_counter() - t0) * 1000)


async def drive(
    url: str, headers: dict[str, str], *, streams: int, rest_workers: int = 4, tag: str = "a"
) -> Outcome:
    """Open `streams` chat streams at once while `rest_workers` loop over the task API."""
    out = Outcome()
    limits = httpx.Limits(max_connections=streams + rest_workers + 4)
    timeout = httpx.Timeout(120)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=timeout
    ) as client:
        stop = asyncio.Event()
        workers = [
            asyncio.create_task(_rest_worker(client, f"{tag}{w}", stop, out))
            for w in range(rest_workers)
        ]
        start = time.perf_counter()
        await asyncio.gather(*(_one_stream(client, n, tag, out) for n in range(streams)))
        out.wall_s = time.perf_counter() - start
        stop.set()
        await asyncio.gather(*workers)
    return out


def check_db(db_path: Path, out: Outcome, *, user_id: str | None = None) -> list[str]:
    """What is wrong in the database after a load run (empty when all is well)."""
    problems: list[str] = []
    with sqlite3.connect(db_path) as conn:
        if conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
            problems.append("integrity_check failed")
        for tid, text in out.threads.items():
            rows = conn.execute(
                "SELECT type, data FROM chat_item WHERE thread_id = ? ORDER BY created_at, seq",
                (tid,),
            ).fetchall()
            users = [json.loads(d) for t, d in rows if t == "user_message"]
            replies = [json.loads(d) for t, d in rows if t == "assistant_message"]
            if [u["content"][0]["text"] for u in users] != [text]:
                problems.append(f"{tid}: user messages {users!r}")
            if len(replies) != 1:
                problems.append(f"{tid}: {len(replies)} replies")
            if len({json.loads(d)["id"] for _, d in rows}) != len(rows):
                problems.append(f"{tid}: duplicate item ids")
        for title in out.tool_titles:
            count = conn.execute("SELECT count(*) FROM task WHERE title = ?", (title,)).fetchone()
            if count[0] != 1:
                problems.append(f"tool task {title!r} exists {count[0]} times")
        ids = {r[0] for r in conn.execute("SELECT id FROM task")}
        if lost := out.rest_alive - ids:
            problems.append(f"{len(lost)} REST-created tasks lost")
        if back := out.rest_deleted & ids:
            problems.append(f"{len(back)} deleted tasks still present")
        titles = [r[0] for r in conn.execute("SELECT title FROM task")]
        if len(titles) != len(set(titles)):
            problems.append("duplicate task titles")
    problems += [e for e in out.errors if "locked" in e.lower()]
    return problems


# ------------------------------------------------------------------- benchmark


@contextmanager
def served(fake: FakeGemini, data_dir: str) -> Iterator[tuple[str, str, subprocess.Popen]]:
    """`python -m app serve` in its own process, pointed at the fake Gemini."""
    env = {
        **os.environ,
        **LOAD_ENV,
        "TASKCHAT_DATA_DIR": data_dir,
        "GEMINI_BASE_URL": fake.base_url,
        "GEMINI_API_KEY": "bench-key",
        "TASKCHAT_LOG_LEVEL": "WARNING",
        "TASKCHAT_KEYRING_BACKEND": "fail",
    }
    with serve(env, stderr_to=Path(data_dir) / "serve-stderr.txt") as running:
        yield running


session_cookie = session_headers


def _logs_mention(data_dir: str, text: str) -> bool:
    logs = [Path(data_dir) / "serve-stderr.txt", *Path(data_dir).glob("logs/*")]
    return any(text in f.read_text(errors="replace") for f in logs if f.is_file())


async def run(streams: int, chunks: int, rounds: int) -> tuple[list[Figure], list[str]]:
    fake = FakeGemini().start()
    fake.route = pacing_router(chunks)
    outcomes: list[Outcome] = []
    problems: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as data_dir, served(fake, data_dir) as (url, launch, p):
            headers = session_cookie(launch)
            await drive(url, headers, streams=5, rest_workers=1, tag="warm")
            for n in range(rounds):
                out = await drive(url, headers, streams=streams, tag=f"r{n}")
                outcomes.append(out)
                problems += out.errors
                problems += check_db(Path(data_dir) / "taskchat.db", out)
            p.send_signal(signal.SIGTERM)
            p.wait(15)
            if _logs_mention(data_dir, "database is locked"):
                problems.append("server log mentions 'database is locked'")
    finally:
        fake.stop()

    def joined(attr: str) -> list[float]:
        return [v for o in outcomes for v in getattr(o, attr)]

    note = f"{streams} streams x {rounds} rounds, {chunks} chunks @ 20 ms, 4 REST workers"
    first = Figure("load: time to first event", joined("first_event_ms"), note=note)
    first.extra = {"p99": percentile(first.samples, 99)}
    first.target = f"p99 {first.extra['p99']:.0f} ms"
    delta = Figure("load: time to first text delta", joined("first_delta_ms"), note=note)
    delta.extra = {"p99": percentile(delta.samples, 99)}
    delta.target = f"p99 {delta.extra['p99']:.0f} ms"
    ideal = chunks * CHUNK_DELAY * 1000
    whole = Figure("load: whole stream", joined("stream_ms"), note=f"pacing alone {ideal:.0f} ms")
    whole.extra = {"ratio_median_vs_pacing": whole.median / ideal if ideal else 0.0}
    whole.target = f"ratio to pacing {whole.extra['ratio_median_vs_pacing']:.2f}"
    rest = Figure("load: REST create+patch+complete+list(+delete)", joined("rest_ms"), note=note)
    wall = Figure("load: wall time of one round", [o.wall_s * 1000 for o in outcomes])
    return [first, delta, whole, rest, wall], problems


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny run to check it works")
    args = parser.parse_args(argv)
    streams, chunks, rounds = (10, 5, 1) if args.quick else (args.streams, args.chunks, args.rounds)
    figures, problems = asyncio.run(run(streams, chunks, rounds))
    print_table(f"Load ({streams} concurrent streams + task API)", figures)
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems[:20]))
    if not args.quick:
        print(f"written {write_json('load', figures, problems=problems[:50])}")
    result = {f.name: f.to_json() for f in figures}
    if problems:
        raise SystemExit(f"load run found {len(problems)} problems")
    return result


if __name__ == "__main__":
    main()
