"""Quick-add phrases: "every monday", "every 2 weeks", "daily at 9"… → title, RRULE and due."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from app.tasks.recurrence import first_occurrence

_DAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
_DAY = r"(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|sday|nesday|urday)?\b"
_UNIT = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
_ADVERB = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY"}
_AT = r"(?:\s+at\s+(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm)?)?"
_ON_THE = r"(?:\s+on\s+the\s+(?P<monthday>\d{1,2})(?:st|nd|rd|th)?)?"
_PATTERNS = [
    re.compile(r"\bevery\s+weekday" + _AT + r"\b", re.I),
    re.compile(r"\bevery\s+(?P<days>" + _DAY + r"(?:\s*(?:,|and)\s*" + _DAY + r")*)" + _AT, re.I),
    re.compile(
        r"\bevery\s+(?:(?P<n>\d+)\s+)?(?P<unit>day|week|month|year)s?" + _ON_THE + _AT + r"\b",
        re.I,
    ),
    re.compile(r"\b(?P<adverb>daily|weekly|monthly|yearly)" + _ON_THE + _AT + r"\b", re.I),
]


@dataclass
class QuickAdd:
    title: str
    recurrence: str | None = None
    due: date | datetime | None = None


def _day_code(word: str) -> str:
    word = word.lower()
    for name, code in _DAYS.items():
        if name.startswith(word[:3]):
            return code
    raise ValueError(word)


def _clock(match: re.Match[str]) -> time | None:
    hour = match.groupdict().get("hour")
    if hour is None:
        return None
    h, m = int(hour), int(match.group("minute") or 0)
    ampm = (match.group("ampm") or "").lower()
    if ampm == "pm" and h < 12:
        h += 12
    if ampm == "am" and h == 12:
        h = 0
    if not (0 <= h <= 23 and 0 <= m <= 59):
        return None
    return time(h, m)


def _rule(match: re.Match[str], index: int) -> str:
    groups = match.groupdict()
    if index == 0:
        return "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    if index == 1:
        days = re.findall(_DAY, groups["days"], re.I)
        codes = list(dict.fromkeys(_day_code(d) for d in days))
        return "FREQ=WEEKLY;BYDAY=" + ",".join(codes)
    freq = _UNIT[groups["unit"].lower()] if index == 2 else _ADVERB[groups["adverb"].lower()]
    parts = [f"FREQ={freq}"]
    n = int(groups.get("n") or 1)
    if n > 1:
        parts.append(f"INTERVAL={n}")
    if groups.get("monthday") and freq == "MONTHLY":
        parts.append(f"BYMONTHDAY={int(groups['monthday'])}")
    return ";".join(parts)


def parse(text: str, *, now: datetime, zone: tzinfo) -> QuickAdd:
    """Split a repeat phrase off `text`; the due is the rule's first occurrence from now."""
    for index, pattern in enumerate(_PATTERNS):
        match = pattern.search(text)
        if match is None:
            continue
        rule = _rule(match, index)
        title = re.sub(r"\s{2,}", " ", (text[: match.start()] + text[match.end() :])).strip()
        title = title.strip(" ,;:-") or text.strip()
        clock = _clock(match)
        today = now.astimezone(zone).date()
        due: date | datetime | None
        if clock is None:  # all day: the first matching day from today on
            found = first_occurrence(rule, start=datetime.combine(today, time(0)), zone=zone)
            due = None if found is None else found.astimezone(zone).date()
        else:  # the first matching time still ahead
            due = first_occurrence(rule, start=datetime.combine(today, clock), zone=zone, after=now)
        return QuickAdd(title=title, recurrence=rule, due=due)
    return QuickAdd(title=text.strip())
