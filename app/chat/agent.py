"""The TaskChat agent: instructions that pin today's date and the user's time zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from agents import Agent, Model, RunContextWrapper, Tool

from app.config import Settings
from app.localtime import local_zone

MAX_TURNS = 12


def instructions(settings: Settings, now: datetime | None = None) -> str:
    zone, zone_name = local_zone(settings)
    local = (now or datetime.now(zone)).astimezone(zone)
    return (
        "You are TaskChat, a friendly assistant that manages the user's to-do list with the "
        "task tools. Act on the tasks directly instead of describing what you would do.\n"
        f"Today is {local:%A, %d %B %Y} and the user's local time is {local:%H:%M} "
        f"({zone_name}, UTC{local:%z}). Resolve relative dates such as 'tomorrow' or "
        "'next Friday' in that time zone. Give all-day due dates as YYYY-MM-DD and times "
        "as ISO 8601 with the UTC offset.\n"
        "Before changing or deleting a task you do not have the id of, find it with "
        "list_tasks; never invent ids. When the user names several tasks, create each one "
        "with its own create_task call. If a tool reports an error, fix the call or tell the "
        "user plainly. Keep replies short."
    )


def build_agent(settings: Settings, *, model: Model, tools: Sequence[Tool]) -> Agent:
    return Agent(
        name="TaskChat", instructions=instructions(settings), model=model, tools=list(tools)
    )


def lasting_agent(settings: Settings, *, model: Model, tools: Sequence[Tool]) -> Agent:
    """The agent of build_agent, for many turns: its instructions are written at the start
    of each run (today's date and time, the zone then set in `settings`)."""

    def written_now(_context: RunContextWrapper[Any], _agent: Agent[Any]) -> str:
        return instructions(settings)

    return Agent(name="TaskChat", instructions=written_now, model=model, tools=list(tools))
