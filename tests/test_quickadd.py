"""Quick-add phrases become a title, an RRULE and the first due date (Python side, tray)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.tasks.quickadd import parse
from app.tasks.recurrence import clean_recurrence

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_10 = datetime(2026, 12, 4, 10, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("text", "title", "rule", "due"),
    [
        ("water plants every monday", "water plants", "FREQ=WEEKLY;BYDAY=MO", date(2026, 12, 7)),
        ("review every 2 weeks", "review", "FREQ=WEEKLY;INTERVAL=2", date(2026, 12, 4)),
        (
            "standup every weekday at 9:30",
            "standup",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            datetime(2026, 12, 7, 9, 30, tzinfo=BERLIN),
        ),
        ("vitamins daily at 9", "vitamins", "FREQ=DAILY", datetime(2026, 12, 5, 9, tzinfo=BERLIN)),
        (
            "vitamins daily at 11",
            "vitamins",
            "FREQ=DAILY",
            datetime(2026, 12, 4, 11, tzinfo=BERLIN),
        ),
        (
            "pay rent monthly on the 1st",
            "pay rent",
            "FREQ=MONTHLY;BYMONTHDAY=1",
            date(2027, 1, 1),
        ),
        ("birthday every year", "birthday", "FREQ=YEARLY", date(2026, 12, 4)),
        (
            "invoice every month on the 15th",
            "invoice",
            "FREQ=MONTHLY;BYMONTHDAY=15",
            date(2026, 12, 15),
        ),
        ("every wednesday: bins", "bins", "FREQ=WEEKLY;BYDAY=WE", date(2026, 12, 9)),
        (
            "gym every mon and fri at 7pm",
            "gym",
            "FREQ=WEEKLY;BYDAY=MO,FR",
            datetime(2026, 12, 4, 19, tzinfo=BERLIN),
        ),
        ("Buy milk", "Buy milk", None, None),
    ],
)
def test_phrases(text, title, rule, due):
    got = parse(text, now=FRIDAY_10, zone=BERLIN)
    assert (got.title, got.recurrence) == (title, rule)
    assert got.due == due
    if rule:
        assert clean_recurrence(rule) == rule
