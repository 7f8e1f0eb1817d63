"""In-app notices: what the scheduler showed (or could only show in the app), for the UI."""

from __future__ import annotations

import itertools
from collections import deque
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel

KEEP = 200


class Notice(BaseModel):
    seq: int
    kind: Literal["reminder", "catch_up"]
    title: str
    body: str
    task_ids: list[str]
    at: datetime
    # "desktop" when a notification service showed it; "toast" when only the app can.
    delivered: Literal["desktop", "toast"]


class NoticePage(BaseModel):
    items: list[Notice]
    last: int


class NoticeBoard:
    """The last notices in memory; the UI reads the ones after the seq it has seen."""

    def __init__(self) -> None:
        self._items: deque[Notice] = deque(maxlen=KEEP)
        self._seq = itertools.count(1)
        self.last = 0

    def add(
        self,
        *,
        kind: Literal["reminder", "catch_up"],
        title: str,
        body: str,
        task_ids: list[str],
        delivered: Literal["desktop", "toast"],
    ) -> Notice:
        self.last = next(self._seq)
        notice = Notice(
            seq=self.last,
            kind=kind,
            title=title,
            body=body,
            task_ids=task_ids,
            at=datetime.now(UTC),
            delivered=delivered,
        )
        self._items.append(notice)
        return notice

    def after(self, seq: int) -> NoticePage:
        return NoticePage(items=[n for n in self._items if n.seq > seq], last=self.last)
