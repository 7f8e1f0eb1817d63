"""A repeating task with a reminder in the task panel (headless Chromium): the rule in words,
the reminder, quick add of a repeat phrase, editing the rule; screenshots (light, dark,
narrow) in artifacts/screenshots/reminders-*.png."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import NARROW, WIDE, Browser, wait_ready
from tests.e2e.test_webui_screenshots import assert_no_errors, shoot
from tests.fakes.gemini import FakeGemini

pytestmark = pytest.mark.e2e


def test_repeating_task_with_reminder_in_the_panel(
    ui: Browser, gemini: FakeGemini, gemini_key: str, api: httpx.Client
) -> None:
    r = api.post(
        "/api/tasks",
        json={
            "title": "Water the plants",
            "recurrence": "FREQ=WEEKLY;BYDAY=SU",
            "due": "2099-01-04T17:00:00Z",
            "remind_before_minutes": 30,
            "tags": ["home"],
        },
    )
    assert r.status_code == 201, r.text
    for scheme, viewport in (("light", WIDE), ("dark", WIDE), ("light", NARROW)):
        page = ui.open(viewport=viewport, color_scheme=scheme)
        wait_ready(page)
        if viewport == NARROW:
            page.get_by_test_id("tab-tasks").click()
        row = page.get_by_test_id("task-item").filter(has_text="Water the plants")
        expect(row.get_by_test_id("task-repeat")).to_have_text("↻ every week on Sunday")
        expect(row.get_by_test_id("task-remind")).to_be_visible()
        width = "narrow" if viewport == NARROW else "wide"
        shoot(page, f"reminders-{scheme}-{width}-panel")

    # Quick add understands a repeat phrase and shows it as a chip before adding.
    page = ui.open(viewport=WIDE)
    wait_ready(page)
    box = page.get_by_test_id("task-add-input")
    box.fill("pay rent monthly on the 1st #money")
    chip = page.get_by_test_id("quick-chip").filter(has_text="every month on the 1st")
    expect(chip).to_be_visible()
    shoot(page, "reminders-light-wide-quickadd")
    page.get_by_test_id("task-add-button").click()
    rent = page.get_by_test_id("task-item").filter(has_text="pay rent")
    expect(rent.get_by_test_id("task-repeat")).to_have_text("↻ every month on the 1st")
    created = [t for t in api.get("/api/tasks").json()["items"] if t["title"] == "pay rent"]
    assert created[0]["recurrence"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    assert created[0]["due"] is not None

    # The editor takes the rule in words.
    rent.get_by_test_id("task-title").click()
    repeat = page.get_by_test_id("edit-repeat")
    expect(repeat).to_have_value("every month on the 1st")
    repeat.fill("every 2 weeks")
    page.get_by_test_id("edit-save").click()
    rent = page.get_by_test_id("task-item").filter(has_text="pay rent")
    expect(rent.get_by_test_id("task-repeat")).to_have_text("↻ every 2 weeks")
    assert_no_errors(ui)
