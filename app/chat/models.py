"""Chat tables: ChatThread and ChatItem (a ChatKit thread item kept as a JSON payload)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String
from sqlmodel import Field, SQLModel

from app.db.types import UTCDateTime, utcnow

ID_MAX = 64


class ChatThread(SQLModel, table=True):
    __tablename__ = "chat_thread"
    __table_args__ = (Index("ix_chat_thread_user_created", "user_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=ID_MAX)
    user_id: str = Field(max_length=64, nullable=False)
    title: str | None = Field(default=None, max_length=255)
    # ChatKit's thread status ({"type": "active"|"locked"|"closed", ...}).
    status: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # `metadata` is taken on SQLModel classes, so the attribute is `meta`.
    meta: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ChatItem(SQLModel, table=True):
    __tablename__ = "chat_item"
    __table_args__ = (
        Index("ix_chat_item_thread_created", "thread_id", "created_at", "seq"),
        Index("ix_chat_item_user_created", "user_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=ID_MAX)
    thread_id: str = Field(
        sa_column=Column(
            String(ID_MAX), ForeignKey("chat_thread.id", ondelete="CASCADE"), nullable=False
        )
    )
    user_id: str = Field(max_length=64, nullable=False)
    # The ChatKit item type ("user_message", "assistant_message", "hidden_context_item", ...).
    type: str = Field(max_length=32, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Insertion order within the thread: breaks ties between equal created_at values.
    seq: int = Field(nullable=False)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
