"""Chat latency via /api/chatkit against a fake Gemini: python -m benchmarks.bench_chat.

As in use, the server is `python -m app serve` in its own process and the fake Gemini has a
process of its own too; the bare runs (the baseline: the same agent, model client and tools
with no ChatKit, HTTP or store) are in this one, against the same fake. Two first-token
latencies: zero (the overhead in absolute terms) and 300 ms (a realistic Gemini).

Targets: first text delta via /api/chatkit <= 1.05 x the bare run with a 300 ms first token;
with a zero-latency fake, chatkit minus bare <= 12 ms; request -> thread.created p50 <= 20 ms;
model tool call -> client_effect <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from agents import RunConfig, Runner, set_tracing_disabled

from benchmarks.bench_load import served, session_cookie
from benchmarks.report import Figure, print_table, write_json
from tests.fakes.gemini import Text, ToolCalls
from tests.fakes.gemini_process import FakeGeminiProcess


def _create(text: str) -> str:
    content = [{"type": "input_text", "text": text}]
    params = {"input": {"content": content, "attachments": [], "inference_options": {}}}
    return json.dumps({"type": "threads.create", "params": params})


@contextmanager
def _bare_settings(fake: FakeGeminiProcess) -> Iterator[Any]:
    """Settings for the bare runs: the same model, key and fake as the server's."""
    with tempfile.TemporaryDirectory() as data_dir:
        os.environ.update(
            TASKCHAT_DATA_DIR=data_dir,
            GEMINI_BASE_URL=fake.base_url,
            GEMINI_API_KEY="bench-key",
            TASKCHAT_MAX_RETRIES="0",
        )
        from app.config import get_settings

        get_settings.cache_clear()
        yield get_settings()


async def _through_chatkit(
    client: httpx.AsyncClient, fake: FakeGeminiProcess, *, tool: bool
) -> dict:
    """One threads.create; perf_counter() marks of the events that matter."""
    marks: dict[str, float] = {}
    start = time.perf_counter()
    async with client.stream("POST", "/api/chatkit", content=_create("hi")) as r:
        async for line in r.aiter_lines():
            now = time.perf_counter()
            if '"thread.created"' in line:
                marks.setdefault("created", now)
            elif "text_delta" in line:
                marks.setdefault("delta", now)
            elif '"client_effect"' in line:
                marks.setdefault("effect", now)
    marks = {k: (v - start) * 1000 for k, v in marks.items()}
    if tool:
        marks["tool_to_effect"] = (
            start + marks["effect"] / 1000 - fake.tool_call_sent_at[-1]
        ) * 1000
    return marks


async def _bare_runner(settings: Any, clients: Any, tools: list[Any]) -> float:
    """The same agent, model and fake with no ChatKit, HTTP or store: time to first delta.

    `clients` (one GeminiClients for every run) keeps its connection to the fake between
    runs, as the server's does."""
    from agents import OpenAIChatCompletionsModel

    from app.chat.agent import build_agent

    model = OpenAIChatCompletionsModel(
        model=settings.gemini_model, openai_client=clients.get(settings)
    )
    agent = build_agent(settings, model=model, tools=tools)
    start = time.perf_counter()
    result = Runner.run_streamed(agent, "hi", run_config=RunConfig(tracing_disabled=True))
    first = None
    async for event in result.stream_events():
        if (
            first is None
            and event.type == "raw_response_event"
            and event.data.type == "response.output_text.delta"
        ):
            first = (time.perf_counter() - start) * 1000
    assert first is not None
    return first


async def _health_round_trip(client: httpx.AsyncClient) -> float:
    """GET /api/health through the same server, middleware and client: the floor that
    any request through /api/chatkit pays before ChatKit, the store or the model."""
    start = time.perf_counter()
    r = await client.get("/api/health")
    r.raise_for_status()
    return (time.perf_counter() - start) * 1000


# A realistic time to Gemini's first token, for the same ratio under real conditions.
FIRST_TOKEN_S = 0.3


async def run(runs: int) -> list[Figure]:
    from app.chat.gemini import GeminiClients
    from app.chat.tools import task_tools
    from app.db.engine import create_engine, create_sessionmaker

    set_tracing_disabled(True)
    fake = FakeGeminiProcess().start()
    hello = Text(["Hello", " there", "!"])
    fake.set_default(hello)
    try:
        with (
            tempfile.TemporaryDirectory() as data_dir,
            served(fake, data_dir) as (url, launch, _),
            _bare_settings(fake) as settings,
        ):
            clients = GeminiClients()
            # The tools' schemas go out with every request; no bare run calls one.
            engine = create_engine(settings)
            tools = task_tools(create_sessionmaker(engine))
            async with httpx.AsyncClient(
                base_url=url, headers=session_cookie(launch), timeout=120
            ) as client:
                for _ in range(5):  # warm up connections, caches and the SQLite file
                    await _through_chatkit(client, fake, tool=False)
                    await _bare_runner(settings, clients, tools)
                created, via_chatkit, bare, tool_effect, health = [], [], [], [], []
                for _ in range(runs):
                    health.append(await _health_round_trip(client))
                    marks = await _through_chatkit(client, fake, tool=False)
                    created.append(marks["created"])
                    via_chatkit.append(marks["delta"])
                    bare.append(await _bare_runner(settings, clients, tools))
                    fake.push(ToolCalls([("create_task", {"title": "bench"})]), Text(["ok"]))
                    tool_effect.append(
                        (await _through_chatkit(client, fake, tool=True))["tool_to_effect"]
                    )
                fake.set_default(Text(hello.chunks, first_delay=FIRST_TOKEN_S))
                slow_chatkit, slow_bare = [], []
                for _ in range(runs):
                    slow_chatkit.append((await _through_chatkit(client, fake, tool=False))["delta"])
                    slow_bare.append(await _bare_runner(settings, clients, tools))
            await engine.dispose()
    finally:
        fake.stop()

    chatkit_fig = Figure("first text delta via /api/chatkit", via_chatkit)
    bare_fig = Figure("first text delta, bare Runner.run_streamed", bare)
    overhead = chatkit_fig.median - bare_fig.median
    chatkit_fig.target = f"overhead <= 12 ms (got {overhead:.1f} ms)"
    chatkit_fig.extra = {
        "overhead_ms_median": overhead,
        "ratio_median": chatkit_fig.median / bare_fig.median,
    }
    slow_fig = Figure(
        f"first text delta via /api/chatkit, {FIRST_TOKEN_S * 1000:.0f} ms model", slow_chatkit
    )
    slow_bare_fig = Figure(
        f"first text delta, bare run, {FIRST_TOKEN_S * 1000:.0f} ms model", slow_bare
    )
    slow_ratio = slow_fig.median / slow_bare_fig.median
    slow_fig.target = f"ratio <= 1.05 (got {slow_ratio:.3f})"
    slow_fig.extra = {"ratio_median": slow_ratio}
    return [
        chatkit_fig,
        bare_fig,
        slow_fig,
        slow_bare_fig,
        Figure(
            "GET /api/health round trip (reference)",
            health,
            note=f"{statistics.median(health) / bare_fig.median:.2f} x the bare run on its own",
        ),
        Figure("request to thread.created", created, target="p50 <= 20 ms"),
        Figure("model tool call to client_effect", tool_effect, target="<= 50 ms"),
    ]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="tiny run to check it works")
    args = parser.parse_args(argv)
    runs = 10 if args.quick else args.runs
    figures = asyncio.run(run(runs))
    print_table(f"Chat latency, fake Gemini ({runs} runs)", figures)
    if not args.quick:
        print(f"written {write_json('chat', figures, runs=runs)}")
    return {f.name: f.to_json() for f in figures}


if __name__ == "__main__":
    main()
