"""Import at scale: POST /api/import of N tasks (default 100,000) to a `taskchat serve`
process while a reader lists tasks; and the zip bomb (a ~200 KB zip of 199 MiB of JSON).

Figures: the import's wall time and the server's CPU time over it (user + system; wall
time on a shared machine also measures everyone else's load); every concurrent
GET /api/tasks (latency, and how many answered anything but 200: must be 0);
GET /api/health during the import; the bomb's refusal time and the server's peak memory
growth (VmHWM) across it.

`--baseline DIR` serves another checkout's `app` (e.g. `git archive main | tar -x -C
DIR`) with this interpreter too, alternating with this one `--runs` times, so both are
measured under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.bench_tasks import fake_rows
from benchmarks.report import Figure, print_table, write_json
from benchmarks.serving import serve


@contextmanager
def served(
    data_dir: str, app_dir: Path | None = None
) -> Iterator[tuple[str, str, subprocess.Popen]]:
    """`python -m app serve` on local SQLite only (no primary PostgreSQL, no sync)."""
    env = {
        **os.environ,
        "TASKCHAT_DATA_DIR": data_dir,
        "GEMINI_API_KEY": "bench-key",
        "TASKCHAT_LOG_LEVEL": "WARNING",
        "TASKCHAT_KEYRING_BACKEND": "fail",
    }
    env.pop("TASKCHAT_DATABASE_URL", None)
    env.pop("TASKCHAT_SYNC_URL", None)
    with serve(env, cwd=app_dir) as running:
        yield running


def export_doc(n: int) -> bytes:
    tasks = []
    for r in fake_rows(n):
        tasks.append(
            {
                "id": r["id"],
                "title": r["title"],
                "description": r["description"],
                "priority": r["priority"],
                "completed": r["completed"],
                "completed_at": r["completed_at"].isoformat() if r["completed_at"] else None,
                "due_at": r["due_at"].isoformat() if r["due_at"] else None,
                "due_all_day": r["due_all_day"],
                "tags": r["tags"],
                "created_at": r["created_at"].isoformat(),
                "updated_at": r["updated_at"].isoformat(),
            }
        )
    doc = {"format": "taskchat-export", "version": 1, "tasks": tasks, "threads": [], "links": []}
    return json.dumps(doc, indent=1).encode()


def bomb(size: int = 199 * 1024 * 1024) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("export.json", "w", force_zip64=True) as member:
            member.write(b'{"format": "taskchat-export", "version": 1, "tasks": [], "x": "')
            chunk = b"a" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                member.write(chunk)
            member.write(b'"}')
    return buf.getvalue()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (independent of other load on the box)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@dataclass
class Measured:
    took: float
    cpu: float
    load: float
    reads: list[float]
    health: list[float]
    statuses: dict[int, int]
    bomb_ms: float
    bomb_kb: int
    grew_mb: float
    problems: list[str]


async def run(body: bytes, n: int, raw: bytes, app_dir: Path | None = None) -> Measured:
    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory() as data_dir,
        served(data_dir, app_dir) as (
            url,
            launch,
            proc,
        ),
    ):
        async with httpx.AsyncClient() as c:
            assert (await c.get(launch)).status_code == 303
            cookies = dict(c.cookies.items())
        async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=900) as client:
            # A few tasks of the person's own, read throughout.
            for i in range(20):
                await client.post("/api/tasks", json={"title": f"mine {i}"})
            reads: list[float] = []
            health: list[float] = []
            statuses: dict[int, int] = {}
            done = asyncio.Event()

            async def reader() -> None:
                while not done.is_set():
                    started = time.perf_counter()
                    r = await client.get("/api/tasks", params={"limit": 50})
                    reads.append((time.perf_counter() - started) * 1000)
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    started = time.perf_counter()
                    h = await client.get("/api/health")
                    health.append((time.perf_counter() - started) * 1000)
                    statuses[h.status_code] = statuses.get(h.status_code, 0) + 1
                    await asyncio.sleep(0.05)

            task = asyncio.create_task(reader())
            await asyncio.sleep(0.3)
            started = time.perf_counter()
            cpu_before = cpu_seconds(proc.pid)
            r = await client.post("/api/import", content=body)
            took = time.perf_counter() - started
            cpu = cpu_seconds(proc.pid) - cpu_before
            load = os.getloadavg()[0]
            done.set()
            await task
            if r.status_code != 200 or r.json()["inserted"]["tasks"] != n:
                problems.append(f"import answered {r.status_code}: {r.text[:200]}")
            bad = {k: v for k, v in statuses.items() if k != 200}
            if bad:
                problems.append(f"concurrent reads answered {bad}")
            rss_before = peak_rss_kb(proc.pid)
            bomb_started = time.perf_counter()
            b = await client.post("/api/import", content=raw)
            bomb_ms = (time.perf_counter() - bomb_started) * 1000
            grew_mb = (peak_rss_kb(proc.pid) - rss_before) / 1024
            if b.status_code != 422:
                problems.append(f"bomb answered {b.status_code}")
    if grew_mb >= 100:
        problems.append(f"bomb grew the server's peak RSS by {grew_mb:.0f} MB")
    return Measured(
        took, cpu, load, reads, health, statuses, bomb_ms, len(raw) // 1024, grew_mb, problems
    )


def figures(
    runs: list[Measured], n: int, body_mb: float, bomb_mib: int, label: str = ""
) -> list[Figure]:
    last = runs[-1]
    statuses: dict[int, int] = {}
    for m in runs:
        for code, count in m.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    bad = {k: v for k, v in statuses.items() if k != 200}
    loads = ", ".join(f"{m.load:.1f}" for m in runs)
    return [
        Figure(
            f"{label}import: whole import",
            [m.took for m in runs],
            unit="s",
            target="<= 30 s",
            note=f"{n:,} tasks, {body_mb:.0f} MB JSON",
        ),
        Figure(
            f"{label}import: server CPU time",
            [m.cpu for m in runs],
            unit="s",
            note=f"load average {loads} on {os.cpu_count()} CPUs",
        ),
        Figure(
            f"{label}import: concurrent GET /api/tasks",
            [x for m in runs for x in m.reads],
            target="all 200",
            note=f"{sum(statuses.values())} requests, non-200: {bad or 0}",
        ),
        Figure(
            f"{label}import: concurrent GET /api/health",
            [x for m in runs for x in m.health],
            target="< 1000 ms",
        ),
        Figure(
            f"{label}import: zip bomb refused",
            [m.bomb_ms for m in runs],
            target="422, +RSS < 100 MB",
            note=f"{last.bomb_kb} KB zip of {bomb_mib} MiB; peak RSS +{last.grew_mb:.0f} MB",
            extra={"rss_growth_mb": max(m.grew_mb for m in runs)},
        ),
    ]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--baseline", type=Path, help="another checkout to measure too (alternating runs)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny run to check it works")
    args = parser.parse_args(argv)
    n = 500 if args.quick else args.tasks
    # Quick: a bomb just past the cap (96 MiB) is refused the same way, and builds faster.
    bomb_mib = 100 if args.quick else 199
    body = export_doc(n)
    raw = bomb(bomb_mib * 1024 * 1024)
    variants: dict[str, Path | None] = {"": None}
    if args.baseline:
        variants = {"baseline ": args.baseline.resolve(), "": None}
    measured: dict[str, list[Measured]] = {label: [] for label in variants}
    for i in range(args.runs):
        # Alternate which goes first, so neither always meets the other's leftovers.
        order = list(variants.items())
        for label, app_dir in order if i % 2 == 0 else order[::-1]:
            measured[label].append(asyncio.run(run(body, n, raw, app_dir)))
    all_figures: list[Figure] = []
    for label, runs in measured.items():
        all_figures += figures(runs, n, len(body) / 1e6, bomb_mib, label)
    print_table(f"Import ({n:,} tasks, {args.runs} run(s) each)", all_figures)
    if args.baseline:
        base, mine = measured["baseline "], measured[""]
        for what in ("took", "cpu"):
            b = statistics.median(getattr(m, what) for m in base)
            c = statistics.median(getattr(m, what) for m in mine)
            print(f"{what}: {c:.1f} s vs baseline {b:.1f} s ({c / b:.2f}x)")
    problems = [p for runs in measured.values() for m in runs for p in m.problems]
    for p in problems:
        print(f"PROBLEM: {p}")
    if not args.quick:
        print(f"written {write_json('import', all_figures, tasks=n, runs=args.runs)}")
    if problems:
        raise SystemExit(1)
    return {f.name: f.to_json() for f in all_figures}


if __name__ == "__main__":
    main()
