"""Recurrence rules (RFC 5545 RRULE via dateutil) expanded on local wall-clock time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dateutil import rrule as du_rrule

from app.localtime import zone_named

RULE_MAX = 300
# Faster rules would turn reminders into a stream of notifications.
_ALLOWED_FREQ = {"HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_RULE_CHARS = re.compile(r"^[A-Z0-9=;,+\-]+$")
# A task without a time of day has its reminder (relative or default) counted from 09:00.
ALL_DAY_REMINDER_TIME = time(9, 0)


def local_zone(zone_name: str = "") -> tzinfo:
    """The person's zone: the configured IANA name, else $TZ, else the OS zone."""
    return zone_named(zone_name)[0]


def clean_recurrence(value: str | None) -> str | None:
    """Normalise an RRULE (without or with the `RRULE:` prefix); ValueError if invalid."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("recurrence must be an RRULE string such as FREQ=WEEKLY;BYDAY=MO")
    text = value.strip().upper()
    if text.startswith("RRULE:"):
        text = text[len("RRULE:") :]
    text = text.strip().strip(";")
    if not text:
        return None
    if len(text) > RULE_MAX:
        raise ValueError(f"recurrence must be at most {RULE_MAX} characters")
    if not _RULE_CHARS.match(text):
        raise ValueError(
            "recurrence must be one RRULE line such as FREQ=WEEKLY;BYDAY=MO "
            "(no DTSTART, no line breaks)"
        )
    parts: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, val = part.partition("=")
        if not sep or not key or not val:
            raise ValueError(f"recurrence part {part!r} is not NAME=VALUE")
        if key in parts:
            raise ValueError(f"recurrence names {key} twice")
        parts[key] = val
    freq = parts.get("FREQ")
    if freq is None:
        raise ValueError("recurrence needs FREQ, e.g. FREQ=DAILY")
    if freq not in _ALLOWED_FREQ:
        raise ValueError(
            "recurrence FREQ must be HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY (got " + freq + ")"
        )
    for key in ("INTERVAL", "COUNT"):
        if key in parts and not (parts[key].isdigit() and 1 <= int(parts[key]) <= 1000):
            raise ValueError(f"recurrence {key} must be a whole number from 1 to 1000")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("recurrence may have COUNT or UNTIL, not both")
    try:
        rule = _build(text, datetime(2026, 1, 1, 9, 0))
        # Rules dateutil accepts but that never occur (e.g. BYMONTHDAY=31;BYMONTH=2).
        bounded = "COUNT" in parts or "UNTIL" in parts
        if not bounded and rule.after(datetime(2026, 1, 1)) is None:
            raise ValueError("recurrence never occurs")
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise ValueError(f"recurrence is not a valid RRULE: {exc}") from None
    return text


def _until_local(text: str) -> tuple[str, datetime | None]:
    """Split UNTIL off the rule: dateutil wants it as naive as the (naive) DTSTART."""
    match = re.search(r"(?:^|;)UNTIL=([0-9TZ]+)", text)
    if match is None:
        return text, None
    raw = match.group(1)
    rest = (text[: match.start()] + text[match.end() :]).strip(";")
    if len(raw) == 8:
        until = datetime.strptime(raw, "%Y%m%d").replace(hour=23, minute=59, second=59)
    elif raw.endswith("Z"):
        until = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    else:
        until = datetime.strptime(raw, "%Y%m%dT%H%M%S")
    return rest, until


def _build(text: str, dtstart: datetime, zone: tzinfo | None = None) -> du_rrule.rrule:
    rest, until = _until_local(text)
    if until is not None and until.tzinfo is not None:
        until = until.astimezone(zone or UTC).replace(tzinfo=None)
    rule = du_rrule.rrulestr("RRULE:" + rest, dtstart=dtstart)
    if not isinstance(rule, du_rrule.rrule):
        raise ValueError("recurrence must be a single rule")
    return rule.replace(until=until) if until is not None else rule


def _wall(value: datetime, zone: tzinfo) -> datetime:
    return value.astimezone(zone).replace(tzinfo=None, fold=0)


def _aware(wall: datetime, zone: tzinfo) -> datetime:
    # A wall time in a DST gap is read with the offset before the jump (fold=0), so it
    # lands just after the gap, as calendar apps do.
    return wall.replace(tzinfo=zone).astimezone(UTC)


def next_occurrence(
    rule: str,
    *,
    anchor: date | datetime,
    after: datetime,
    zone: tzinfo,
    wall_time: time | None = None,
) -> date | datetime | None:
    """The first occurrence strictly after both `anchor` and `after`, or None if the rule ended.

    `anchor` is the current due (DTSTART): a date for all-day tasks, else an aware datetime.
    The rule is expanded on the person's local wall clock, so 09:00 stays 09:00 across DST.
    `wall_time` is the series' local time when the anchor was moved out of a DST gap.
    """
    return next_occurrence_wall(rule, anchor=anchor, after=after, zone=zone, wall_time=wall_time)[0]


def next_occurrence_wall(
    rule: str,
    *,
    anchor: date | datetime,
    after: datetime,
    zone: tzinfo,
    wall_time: time | None = None,
) -> tuple[date | datetime | None, time | None]:
    """next_occurrence, plus the wall time it was meant for when that fell in a DST gap."""
    if isinstance(anchor, datetime):
        start = _wall(anchor, zone)
        if wall_time is not None:
            start = datetime.combine(start.date(), wall_time)
        expanded = _build(rule, start, zone)
        floor = max(start, _wall(after, zone), _wall(anchor, zone))
        found = expanded.after(floor, inc=False)
        if found is None:
            return None, None
        aware = _aware(found, zone)
        shifted = _wall(aware, zone) != found
        return aware, found.time() if shifted else None
    start = datetime.combine(anchor, time(0, 0))
    expanded = _build(rule, start, zone)
    today = after.astimezone(zone).date()
    floor = max(start, datetime.combine(today, time(0, 0)))
    found = expanded.after(floor, inc=False)
    return (None if found is None else found.date()), None


def first_occurrence(
    rule: str, *, start: datetime, zone: tzinfo, after: datetime | None = None
) -> datetime | None:
    """The first occurrence of `rule` from the wall time `start` (DTSTART) on, later than
    `after` when given; aware UTC. For a new repeating task ("every monday at 9")."""
    expanded = _build(rule, start, zone)
    if after is None or _aware(start, zone) > after:
        found = expanded.after(start, inc=True)
    else:
        found = expanded.after(_wall(after, zone), inc=False)
    return None if found is None else _aware(found, zone)


def decrement_count(rule: str) -> str | None:
    """After one occurrence is used up: COUNT=n becomes n-1; None when none remain."""
    match = re.search(r"(?:^|;)COUNT=(\d+)", rule)
    if match is None:
        return rule
    count = int(match.group(1)) - 1
    if count <= 0:
        return None
    return rule[: match.start(1)] + str(count) + rule[match.end(1) :]


def reminder_for_due(due: date | datetime, minutes_before: int, zone: tzinfo) -> datetime:
    """The reminder `minutes_before` the due time (09:00 local for an all-day due)."""
    if isinstance(due, datetime):
        base = due
    else:
        base = _aware(datetime.combine(due, ALL_DAY_REMINDER_TIME), zone)
    return (base - timedelta(minutes=minutes_before)).astimezone(UTC)


_DAYS = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
_UNITS = {
    "HOURLY": "hour",
    "DAILY": "day",
    "WEEKLY": "week",
    "MONTHLY": "month",
    "YEARLY": "year",
}


def _ordinal(n: int) -> str:
    if n == -1:
        return "last"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe(rule: str | None) -> str | None:
    """The rule in plain English ("every 2 weeks on Monday"), for tools and notifications."""
    if not rule:
        return None
    parts = dict(p.partition("=")[::2] for p in rule.split(";"))
    unit = _UNITS.get(parts.get("FREQ", ""), "time")
    interval = int(parts.get("INTERVAL", "1") or 1)
    days = [d for d in parts.get("BYDAY", "").split(",") if d]
    if unit == "week" and interval == 1 and sorted(days) == sorted(["MO", "TU", "WE", "TH", "FR"]):
        text = "every weekday"
    else:
        text = f"every {interval} {unit}s" if interval > 1 else f"every {unit}"
        if unit == "day" and interval == 1:
            text = "daily"
        if days:
            text += " on " + ", ".join(_DAYS.get(d[-2:], d) for d in days)
        if "BYMONTHDAY" in parts:
            nums = [int(x) for x in parts["BYMONTHDAY"].split(",") if x.lstrip("-").isdigit()]
            text += " on the " + ", ".join(_ordinal(n) for n in nums)
    if "BYHOUR" in parts:
        minute = int(parts.get("BYMINUTE", "0").split(",")[0] or 0)
        text += " at " + ", ".join(f"{int(h):02d}:{minute:02d}" for h in parts["BYHOUR"].split(","))
    if "COUNT" in parts:
        text += f", {parts['COUNT']} more time" + ("" if parts["COUNT"] == "1" else "s")
    if "UNTIL" in parts:
        raw = parts["UNTIL"]
        text += f", until {raw[:4]}-{raw[4:6]}-{raw[6:8]}"
    return text
