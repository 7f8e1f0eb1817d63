"""Reminders: notification latency and idle CPU of `serve`, and completing a repeating task.

1. `python -m app serve` under a real notification stack (Xvfb, session D-Bus, dunst);
   tasks get reminders a few seconds ahead; dbus-monitor's timestamp of each Notify call
   minus the task's remind_at is the latency (target: median within 1 s).
2. The same server with 10,000 tasks holding future reminders, idle for 60 s: CPU time of
   the server process (target <= 1 % of one core) and how often the scheduler woke
   (its debug log line; target: none between reminders).
3. Completing a repeating task (it moves to its next occurrence) among 100,000 tasks
   (target p95 <= 20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
from sqlalchemy import insert

from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.profile import local_user_id
from app.tasks import service
from app.tasks.models import Task
from benchmarks.bench_tasks import USER, fake_rows
from benchmarks.report import Figure, print_table, time_async, write_json
from benchmarks.serving import serve, session_headers
from tests.notify_stack import have_stack, notification_stack

WOKE = "reminder scheduler woke"


@contextmanager
def served(data_dir: str, env: dict[str, str]) -> Iterator[tuple[str, dict, subprocess.Popen]]:
    """`python -m app serve` in its own process; yields (url, session headers, process)."""
    full = {
        **env,
        "TASKCHAT_DATA_DIR": data_dir,
        "TASKCHAT_LOG_LEVEL": "DEBUG",
        "TASKCHAT_KEYRING_BACKEND": "fail",
        "GEMINI_API_KEY": "bench-key",
    }
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    with serve(full, stderr_to=Path(data_dir) / "serve-stderr.txt") as (url, launch, proc):
        yield url, session_headers(launch), proc


def latency(count: int) -> Figure:
    with (
        tempfile.TemporaryDirectory() as tmp,
        notification_stack(Path(tmp) / "stack") as stack,
        served(str(Path(tmp) / "data"), stack.env) as (url, headers, _proc),
        httpx.Client(base_url=url, headers=headers) as c,
    ):
        start = datetime.now(UTC) + timedelta(seconds=3)
        due = {}
        for i in range(count):
            at = start + timedelta(seconds=0.7 * i)
            title = f"Reminder {i}"
            r = c.post("/api/tasks", json={"title": title, "remind_at": at.isoformat()})
            r.raise_for_status()
            due[title] = datetime.fromisoformat(r.json()["remind_at"]).timestamp()
        stack.wait_for_notify(count, timeout=0.7 * count + 20)
        samples = [(t - due[s]) * 1000 for t, s in stack.notify_times() if s in due]
    return Figure(
        name="notification after remind_at (serve, dunst)",
        samples=samples,
        target="median <= 1000 ms",
        note=f"{count} reminders; Notify time on the bus",
    )


def seed_future_reminders(data_dir: Path, n: int) -> None:
    settings = Settings(data_dir=data_dir)
    settings.ensure_data_dir()
    user = local_user_id(settings)

    async def fill() -> None:
        engine = create_engine(settings)
        await migrate.upgrade(engine)
        rnd = random.Random(3)
        now = datetime.now(UTC)
        rows = [
            {
                "id": f"bench-{i}",
                "user_id": user,
                "title": f"Future reminder {i}",
                "description": "",
                "priority": "none",
                "completed": False,
                "due_all_day": False,
                "tags": [],
                "created_at": now,
                "updated_at": now,
                # The nearest is an hour away: nothing is due during the measurement.
                "remind_at": now + timedelta(hours=1, seconds=rnd.randint(0, 30 * 86400)),
            }
            for i in range(n)
        ]
        async with engine.begin() as conn:
            for i in range(0, n, 5000):
                await conn.execute(insert(Task), rows[i : i + 5000])
        await engine.dispose()

    asyncio.run(fill())


def idle(n: int, seconds: float, settle: float = 15.0) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        seed_future_reminders(data, n)
        env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
        with served(str(data), env) as (url, _headers, proc):
            httpx.get(f"{url}/api/health").raise_for_status()
            time.sleep(settle)  # start-up work (migrations checked, warm-ups) is over
            log = data / "logs" / "taskchat.log"
            woke_before = log.read_text(errors="replace").count(WOKE)
            p = psutil.Process(proc.pid)
            cpu0 = sum(p.cpu_times()[:2])
            t0 = time.monotonic()
            time.sleep(seconds)
            cpu = sum(p.cpu_times()[:2]) - cpu0
            wall = time.monotonic() - t0
            woke = log.read_text(errors="replace").count(WOKE) - woke_before
    return [
        Figure(
            name="idle CPU of serve, 10k future reminders",
            samples=[100 * cpu / wall],
            unit="%",
            target="<= 1 % of one core",
            note=f"{n:,} reminders, {wall:.0f} s",
        ),
        Figure(
            name="scheduler wake-ups while idle",
            samples=[float(woke)],
            unit="",
            target="0 between reminders",
            note=f"{wall:.0f} s",
        ),
    ]


async def complete_recurring(n: int, runs: int) -> Figure:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=tmp)
        engine = create_engine(settings)
        await migrate.upgrade(engine)
        rows = fake_rows(n)
        rnd = random.Random(5)
        rules = ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=MONTHLY;BYMONTHDAY=1"]
        for row in rows:
            # Every row names every column: an executemany takes its columns from the first.
            row["recurrence"] = row["remind_at"] = None
            if not row["completed"] and rnd.random() < 0.2:
                row["recurrence"] = rnd.choice(rules)
                row["due_at"] = row["due_at"] or datetime(2026, 6, 1, 9, tzinfo=UTC)
                row["due_all_day"] = False
                row["remind_at"] = row["due_at"] - timedelta(minutes=30)
        async with engine.begin() as conn:
            for i in range(0, n, 5000):
                await conn.execute(insert(Task), rows[i : i + 5000])
        ids = [r["id"] for r in rows if r.get("recurrence") and r["user_id"] == USER]
        sessionmaker = create_sessionmaker(engine)
        picks = iter(ids * 2)

        async def once() -> None:
            async with sessionmaker() as session:
                task = await service.set_completed(
                    session=session, user_id=USER, task_id=next(picks)
                )
                assert not task.completed

        samples = await time_async(once, runs=runs)
        await engine.dispose()
    return Figure(
        name="complete a repeating task (moves to next)",
        samples=samples,
        target="p95 <= 20 ms",
        note=f"{n:,} tasks",
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny run to check it works")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    quick = args.quick
    figures: list[Figure] = []
    # Quick mode (CI's "does it still run", within the whole suite's time budget) keeps to
    # the in-process part: starting `serve` and the notification stack costs ~15-30 s here,
    # and tests/test_reminders_desktop.py drives the same scheduler and notifications.
    if not quick:
        if have_stack():
            figures.append(latency(24))
        else:
            print("skipped the notification latency: needs Xvfb, dbus-daemon and dunst")
        figures += idle(10_000, args.idle_seconds)
    n, runs = (2_000, 10) if quick else (100_000, 300)
    figures.append(asyncio.run(complete_recurring(n, runs)))
    print_table("Reminders", figures)
    if not quick:
        print(f"written {write_json('reminders', figures)}")
    return {f.name: f.to_json() for f in figures}


if __name__ == "__main__":
    json.dumps(main())
