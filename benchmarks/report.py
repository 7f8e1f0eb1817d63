"""Shared measuring and reporting for benchmarks: timing loops, percentiles, tables, JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

# TASKCHAT_BENCH_RESULTS moves the output (tests run the benchmarks into a temp folder).
RESULTS_DIR = Path(
    os.environ.get("TASKCHAT_BENCH_RESULTS") or Path(__file__).resolve().parent / "results"
)


@dataclass
class Figure:
    """One measured quantity: samples in milliseconds (or another unit), plus its target."""

    name: str
    samples: list[float]
    unit: str = "ms"
    target: str = ""
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("samples")
        data.update(median=self.median, p95=self.p95, n=len(self.samples))
        return data


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def time_async(
    fn: Callable[[], Awaitable[object]], *, runs: int, warmup: int = 3
) -> list[float]:
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def machine() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": str(os.cpu_count()),
    }


def print_table(title: str, figures: list[Figure]) -> None:
    table = Table(title=title)
    for col in ("figure", "median", "p95", "n", "target", "note"):
        table.add_column(col)
    for f in figures:
        table.add_row(
            f.name,
            f"{f.median:.2f} {f.unit}",
            f"{f.p95:.2f} {f.unit}",
            str(len(f.samples)),
            f.target,
            f.note,
        )
    Console().print(table)


def write_json(name: str, figures: list[Figure], **meta: object) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(
        json.dumps(
            {"machine": machine(), **meta, "figures": [f.to_json() for f in figures]}, indent=2
        )
    )
    return path


def report(title: str, name: str, figures: list[Figure], **meta: object) -> Path:
    """Print the table, write `results/<name>.json` with the load average, say both."""
    load = os.getloadavg()
    print_table(title, figures)
    path = write_json(name, figures, load_average=load, **meta)
    print(f"load average during the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"written to {path}")
    return path
