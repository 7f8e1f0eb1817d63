"""Imports every table model so SQLModel.metadata (and Alembic) sees the whole schema."""

from app.chat.models import ChatItem, ChatThread
from app.search.links import TaskLink
from app.tasks.models import Task, TaskTag

__all__ = ["ChatItem", "ChatThread", "Task", "TaskLink", "TaskTag"]
