"""Imports every table model so SQLModel.metadata (and Alembic) sees the whole schema."""

from app.tasks.models import Task

__all__ = ["Task"]
