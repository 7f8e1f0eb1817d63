"""Property tests: moving a repeating task occurrence by occurrence matches dateutil's expansion
across DST changes (New York, Berlin, Lord Howe with its 30-minute shift)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as du_rrule
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from app.tasks.recurrence import (
    clean_recurrence,
    describe,
    next_occurrence,
    next_occurrence_wall,
)

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    interval = draw(st.integers(1, 3))
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    if freq == "WEEKLY" and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True))
        parts.append("BYDAY=" + ",".join(days))
    if freq == "MONTHLY" and draw(st.booleans()):
        parts.append(f"BYMONTHDAY={draw(st.integers(1, 28))}")
    return ";".join(parts)


# Wall-clock starts near the DST changes of the three zones (March/April, October/November).
starts = st.builds(
    datetime,
    year=st.integers(2025, 2030),
    month=st.sampled_from([2, 3, 4, 9, 10, 11]),
    day=st.integers(1, 28),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
)


@settings(max_examples=300, deadline=None)
@given(rule=rules(), start=starts, zone_name=st.sampled_from(ZONES))
# Weekly at 02:00 in New York meets the 9 March 2025 gap and must come back to 02:00.
@example(rule="FREQ=WEEKLY", start=datetime(2025, 2, 2, 2, 0), zone_name="America/New_York")
@example(rule="FREQ=DAILY", start=datetime(2025, 10, 1, 2, 15), zone_name="Australia/Lord_Howe")
def test_chain_of_completions_matches_dateutil(rule: str, start: datetime, zone_name: str):
    zone = ZoneInfo(zone_name)
    assert clean_recurrence(rule) == rule
    aware_start = start.replace(tzinfo=zone)
    # A due is an instant, so it cannot name a wall time that does not exist.
    assume(aware_start.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == start)
    # dateutil's own expansion with an aware DTSTART keeps the wall-clock time.
    expected = list(du_rrule.rrulestr("RRULE:" + rule, dtstart=aware_start)[:8])
    if expected and expected[0] == aware_start:
        expected = expected[1:]
    due: datetime = aware_start.astimezone(UTC)
    wall = None  # kept between steps as the task row keeps it (recurrence_time)
    got = []
    for _ in range(len(expected)):
        nxt, wall = next_occurrence_wall(rule, anchor=due, after=due, zone=zone, wall_time=wall)
        assert isinstance(nxt, datetime)
        got.append(nxt)
        due = nxt
    assert [g.astimezone(UTC) for g in got] == [e.astimezone(UTC) for e in expected]
    for occurrence in got:
        local = occurrence.astimezone(zone)
        if (local.hour, local.minute) != (start.hour, start.minute):
            # Only a wall time that does not exist that day (a DST gap) may move.
            wall = datetime.combine(local.date(), start.time())
            round_trip = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
            assert round_trip.replace(tzinfo=None) != wall, (rule, start, local)


@settings(max_examples=200, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    day=st.dates(date(2025, 1, 1), date(2030, 12, 31)),
    hour=st.integers(6, 21),
)
def test_daily_at_nine_stays_nine_local(zone_name: str, day: date, hour: int):
    zone = ZoneInfo(zone_name)
    due = datetime.combine(day, datetime.min.time()).replace(hour=hour, tzinfo=zone)
    for _ in range(40):  # forty days: every start crosses or nears a change in some years
        nxt = next_occurrence("FREQ=DAILY", anchor=due, after=due, zone=zone)
        assert isinstance(nxt, datetime)
        local = nxt.astimezone(zone)
        assert (local.hour, local.minute) == (hour, 0)
        assert local.date() == due.astimezone(zone).date() + timedelta(days=1)
        due = nxt


@settings(max_examples=200, deadline=None)
@given(rule=rules(), day=st.dates(date(2025, 1, 1), date(2030, 12, 31)))
def test_all_day_chain_matches_dateutil(rule: str, day: date):
    start = datetime.combine(day, datetime.min.time())
    expected = [d.date() for d in du_rrule.rrulestr("RRULE:" + rule, dtstart=start)[:6]]
    if expected and expected[0] == day:
        expected = expected[1:]
    due: date = day
    got = []
    for _ in range(len(expected)):
        # `after` far in the past: only the rule decides.
        nxt = next_occurrence(
            rule, anchor=due, after=datetime(2000, 1, 1, tzinfo=UTC), zone=ZoneInfo(ZONES[0])
        )
        assert isinstance(nxt, date) and not isinstance(nxt, datetime)
        got.append(nxt)
        due = nxt
    assert got == expected


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", "every week on Monday"),
        ("FREQ=WEEKLY;INTERVAL=2", "every 2 weeks"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "every weekday"),
        ("FREQ=DAILY;BYHOUR=9", "daily at 09:00"),
        ("FREQ=MONTHLY;BYMONTHDAY=1", "every month on the 1st"),
        ("FREQ=YEARLY", "every year"),
    ],
)
def test_rule_in_words(rule: str, words: str):
    assert describe(rule) == words
