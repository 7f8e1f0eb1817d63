"""The lists dialog in real headless Chromium: create, rename, colour, emoji, reorder (buttons
and Alt+↓), archive, and delete a list with its tasks moved to the Inbox or deleted, with
Undo; all kept across a reload. Screenshots light/dark, wide/narrow (looked at)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOT_DIR, WIDE, Browser, wait_ready
from tests.e2e.test_webui_a11y import violations
from tests.e2e.test_webui_screenshots import shoot

pytestmark = pytest.mark.e2e

NARROW_400 = {"width": 400, "height": 800}


def lists(api: httpx.Client) -> list[dict]:
    return api.get("/api/lists").json()["items"]


def names(api: httpx.Client) -> list[str]:
    return [x["name"] for x in lists(api)]


def by_name(api: httpx.Client, name: str) -> dict:
    return next(x for x in lists(api) if x["name"] == name)


def test_manage_lists_and_delete_with_undo(ui: Browser, api: httpx.Client, gemini_key: str) -> None:
    page = ui.open()
    wait_ready(page)
    page.get_by_test_id("manage-lists").click()
    dialog = page.get_by_test_id("list-manager")
    expect(dialog).to_be_visible()
    rows = dialog.get_by_test_id("list-row")
    expect(rows).to_have_count(1)  # the Inbox
    expect(rows.first.get_by_test_id("list-delete-button")).to_have_count(0)

    # Create two lists (Enter or the Add button), the first one blue.
    dialog.get_by_test_id("list-new-name").fill("Travel")
    dialog.get_by_test_id("list-new-color").select_option(label="Blue")
    dialog.get_by_test_id("list-new-add").click()
    expect(rows).to_have_count(2)
    dialog.get_by_test_id("list-new-name").fill("Work")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(3)
    assert names(api) == ["Inbox", "Travel", "Work"]
    assert by_name(api, "Travel")["color"] == "#4073ff"

    # Rename, emoji, colour.
    work = dialog.locator(f'[data-list-id="{by_name(api, "Work")["id"]}"]')
    work.get_by_test_id("list-name").fill("Office")
    work.get_by_test_id("list-name").press("Enter")
    _wait(lambda: names(api) == ["Inbox", "Travel", "Office"])
    office_id = by_name(api, "Office")["id"]
    travel_id = by_name(api, "Travel")["id"]
    office = dialog.locator(f'[data-list-id="{office_id}"]')
    travel = dialog.locator(f'[data-list-id="{travel_id}"]')
    travel.get_by_test_id("list-emoji").fill("✈️")
    travel.get_by_test_id("list-emoji").press("Enter")
    office.get_by_test_id("list-color").select_option(label="Green")
    _wait(lambda: by_name(api, "Travel")["emoji"] == "✈️")
    _wait(lambda: by_name(api, "Office")["color"] == "#299438")

    # Reorder: ↑ on Office, then Alt+↓ puts it back last.
    office.get_by_test_id("list-up").click()
    _wait(lambda: names(api) == ["Inbox", "Office", "Travel"])
    expect(rows.nth(1)).to_have_attribute("data-list-id", office_id)
    office.get_by_test_id("list-emoji").focus()
    page.keyboard.press("Alt+ArrowDown")
    _wait(lambda: names(api) == ["Inbox", "Travel", "Office"])
    expect(rows.nth(2)).to_have_attribute("data-list-id", office_id)

    # Archive Office: it leaves the list picker, stays in the dialog.
    office.get_by_test_id("list-archive").click()
    expect(office.get_by_test_id("list-archive")).to_have_text("Unarchive")
    assert by_name(api, "Office")["archived"] is True
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    picker = page.get_by_test_id("filter-list")
    expect(picker.locator("option")).to_have_text(["All lists", "Inbox", "✈️ Travel"])

    # Delete Travel with two tasks in it: moved to the Inbox, then Undo puts all back.
    ids = [
        api.post("/api/tasks", json={"title": t, "list_id": travel_id}).json()["id"]
        for t in ("Book flight", "Pack")
    ]
    picker.select_option(travel_id)
    expect(page.get_by_test_id("task-title")).to_have_count(2)
    page.get_by_test_id("manage-lists").click()
    travel.get_by_test_id("list-delete-button").click()
    question = dialog.get_by_test_id("list-delete")
    expect(question).to_contain_text("It has 2 tasks")
    expect(dialog.locator("h2")).to_have_text("Delete “Travel”?")
    page.keyboard.press("Escape")  # leaves the question, not the dialog
    expect(question).to_have_count(0)
    expect(rows).to_have_count(3)
    travel.get_by_test_id("list-delete-button").click()
    dialog.get_by_test_id("list-delete-move").click()
    expect(dialog).to_have_count(0)
    toast = page.locator(".toast", has_text="Deleted “Travel”; 2 tasks moved to Inbox")
    expect(toast).to_be_visible()
    expect(picker).to_have_value("")  # no longer filtering by a list that is gone
    assert names(api) == ["Inbox", "Office"]
    inbox_id = by_name(api, "Inbox")["id"]
    assert {api.get(f"/api/tasks/{i}").json()["list_id"] for i in ids} == {inbox_id}
    toast.get_by_role("button", name="Undo").click()
    _wait(lambda: names(api) == ["Inbox", "Travel", "Office"])
    assert {api.get(f"/api/tasks/{i}").json()["list_id"] for i in ids} == {travel_id}
    expect(picker.locator("option")).to_have_text(["All lists", "Inbox", "✈️ Travel"])

    # Delete it with its tasks this time.
    page.get_by_test_id("manage-lists").click()
    travel.get_by_test_id("list-delete-button").click()
    dialog.get_by_test_id("list-delete-tasks").click()
    expect(page.locator(".toast", has_text="Deleted “Travel” and its 2 tasks")).to_be_visible()
    assert [api.get(f"/api/tasks/{i}").status_code for i in ids] == [404, 404]

    # Reload: all of it is the server's.
    page.reload()
    wait_ready(page)
    page.get_by_test_id("manage-lists").click()
    expect(dialog.get_by_test_id("list-row")).to_have_count(2)
    expect(
        dialog.locator(f'[data-list-id="{office_id}"]').get_by_test_id("list-name")
    ).to_have_value("Office")
    assert not page.errors  # type: ignore[attr-defined]


def _wait(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    import time

    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_list_manager_screenshots(ui: Browser, api: httpx.Client, gemini_key: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    api.post("/api/lists", json={"name": "Travel", "emoji": "🧳", "color": "#4073ff"})
    api.post("/api/lists", json={"name": "Groceries", "color": "#299438"})
    old = api.post("/api/lists", json={"name": "Old project", "color": "#db4035"}).json()
    api.patch(f"/api/lists/{old['id']}", json={"archived": True})
    api.post("/api/tasks", json={"title": "Milk", "list_id": old["id"]})
    for viewport, size in ((WIDE, "wide"), (NARROW_400, "narrow")):
        for scheme in ("light", "dark"):
            page = ui.open(viewport=viewport, color_scheme=scheme)
            wait_ready(page)
            if size == "narrow":
                page.get_by_test_id("tab-tasks").click()
            page.get_by_test_id("manage-lists").click()
            dialog = page.get_by_test_id("list-manager")
            expect(dialog.get_by_test_id("list-row")).to_have_count(4)
            shoot(page, f"list-manager-{size}-{scheme}")  # layout and contrast checked
            assert violations(page, "lists dialog") == []
            dialog.locator(f'[data-list-id="{old["id"]}"]').get_by_test_id(
                "list-delete-button"
            ).click()
            expect(dialog.get_by_test_id("list-delete")).to_contain_text("It has 1 task")
            shoot(page, f"list-delete-{size}-{scheme}")
            assert violations(page, "delete a list") == []
            assert not page.errors  # type: ignore[attr-defined]
