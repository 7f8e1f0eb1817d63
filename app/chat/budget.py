"""The agent's per-turn budget of changes to existing tasks it may make without asking.

A prompt-injected or confused model can issue dozens of parallel tool calls in one step.
Each call that would delete, complete or edit existing tasks first takes its share of the
turn's budget; past it, the call changes nothing and the tasks go on the confirmation card
(app/chat/confirm.py) instead. Taking is a synchronous check-and-subtract on the request's
own context, so it happens before the call awaits anything (a database, the network):
parallel calls of one turn run on one event loop and cannot all pass the same check, on
SQLite as on PostgreSQL. A call that then fails (say, an unknown id) gives its share back.
"""

from __future__ import annotations

from dataclasses import dataclass

# Deletes of single tasks a turn may make without asking (bulk deletes always ask).
FREE_DELETES_PER_TURN = 3
# Tasks a turn may complete, reopen or edit without asking.
FREE_CHANGES_PER_TURN = 5

DELETES = "deletes"
CHANGES = "changes"


@dataclass
class TurnBudget:
    """What is left of one turn's budget; lives on the request's ChatContext."""

    deletes: int = FREE_DELETES_PER_TURN
    changes: int = FREE_CHANGES_PER_TURN

    def take(self, kind: str, count: int) -> bool:
        """Take `count` of `kind` if that much is left (nothing otherwise). Never awaits."""
        left: int = getattr(self, kind)
        if count > left:
            return False
        setattr(self, kind, left - count)
        return True

    def give_back(self, kind: str, count: int) -> None:
        setattr(self, kind, getattr(self, kind) + count)


# The budget each tool takes from, and how many tasks a call counts for (None: not budgeted).
def cost(tool: str, task_ids: list[str]) -> tuple[str, int] | None:
    if tool == "delete_task":
        return DELETES, 1
    if tool in ("update_task", "complete_task"):
        return CHANGES, 1
    if tool == "bulk_complete_tasks":
        return CHANGES, max(1, len(task_ids))
    return None
