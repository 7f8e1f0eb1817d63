"""Lists in real headless Chromium: a list filter, Today, "my order" with Alt+Up kept across a
reload, steps under their parent, and quick add with #list."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import NARROW, SCREENSHOT_DIR, WIDE, Browser, wait_ready
from tests.e2e.test_webui_screenshots import shoot

pytestmark = pytest.mark.e2e


def titles(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.strip() for t in page.get_by_test_id("task-title").all_inner_texts()]


def test_lists_views_and_keyboard_order_survive_a_reload(
    ui: Browser, api: httpx.Client, gemini_key: str
) -> None:
    travel = api.post("/api/lists", json={"name": "Travel"}).json()["id"]
    ids = {}
    for title in ("Book flight", "Book hotel", "Pack"):
        ids[title] = api.post("/api/tasks", json={"title": title, "list_id": travel}).json()["id"]
    api.post("/api/tasks", json={"title": "Socks", "parent_id": ids["Pack"]})
    api.post("/api/tasks", json={"title": "Renew passport", "due": "2020-01-01"})

    page = ui.open()
    wait_ready(page)
    expect(page.get_by_role("option", name="Travel")).to_have_count(1)
    page.get_by_test_id("filter-list").select_option(travel)
    page.get_by_test_id("task-sort").select_option("position")
    expect(page.get_by_test_id("task-title")).to_have_count(4)
    assert titles(page) == ["Book flight", "Book hotel", "Pack", "Socks"]
    pack = page.locator(f'[data-testid=task-item][data-task-id="{ids["Pack"]}"]')
    expect(pack.get_by_test_id("task-steps")).to_have_text("0/1")

    # Alt+Up on "Pack" moves it past "Book hotel"; its step goes along.
    pack.get_by_test_id("task-title").focus()
    page.keyboard.press("Alt+ArrowUp")
    expect(page.get_by_test_id("task-title").first).to_have_text("Book flight")
    expect(page.get_by_test_id("task-title").nth(1)).to_have_text("Pack")
    assert titles(page) == ["Book flight", "Pack", "Socks", "Book hotel"]

    # Reload: the list filter is remembered for this window; the order is the server's.
    page.reload()
    wait_ready(page)
    expect(page.get_by_test_id("filter-list")).to_have_value(travel)
    page.get_by_test_id("task-sort").select_option("position")
    expect(page.get_by_test_id("task-title")).to_have_count(4)
    assert titles(page) == ["Book flight", "Pack", "Socks", "Book hotel"]

    # Drag "Book hotel" onto "Socks": it becomes a step of "Pack", just before "Socks".
    hotel = page.locator(f'[data-testid=task-item][data-task-id="{ids["Book hotel"]}"]')
    socks = page.locator("[data-testid=task-item]", has_text="Socks")
    hotel.drag_to(socks)
    expect(page.get_by_test_id("task-title").nth(2)).to_have_text("Book hotel")
    assert titles(page) == ["Book flight", "Pack", "Book hotel", "Socks"]
    moved = api.get(f"/api/tasks/{ids['Book hotel']}").json()
    assert moved["parent_id"] == ids["Pack"] and moved["list_id"] == travel

    # Today across all lists: the overdue task only.
    page.get_by_test_id("filter-list").select_option("")
    page.get_by_test_id("filter-today").click()
    expect(page.get_by_test_id("task-title")).to_have_count(1)
    expect(page.get_by_test_id("task-title")).to_have_text("Renew passport")

    # Quick add: #travel picks the list.
    page.get_by_test_id("task-add-input").fill("Buy adapter #travel p1")
    expect(page.locator("[data-testid=quick-chip][data-kind=list]")).to_have_count(1)
    page.get_by_test_id("task-add-button").click()
    expect(page.get_by_test_id("task-add-input")).to_have_value("")
    found = api.get("/api/tasks", params={"list_id": travel, "q": "adapter"}).json()["items"]
    assert [(t["title"], t["priority"]) for t in found] == [("Buy adapter", "high")]
    assert not page.errors  # type: ignore[attr-defined]


def test_lists_screenshots(ui: Browser, api: httpx.Client, gemini_key: str) -> None:
    """Light/dark, wide/narrow views of a list in "my order" (artifacts/screenshots/,
    looked at, not compared)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    trip = api.post("/api/lists", json={"name": "Trip", "emoji": "🧳"}).json()["id"]
    parent = api.post("/api/tasks", json={"title": "Plan the move", "list_id": trip}).json()
    for title in ("Book van", "Pack books", "Forward mail"):
        api.post("/api/tasks", json={"title": title, "parent_id": parent["id"]})
    api.post("/api/tasks", json={"title": "Renew passport", "list_id": trip, "due": "2099-01-05"})
    for viewport, size in ((WIDE, "wide"), (NARROW, "narrow")):
        for scheme in ("light", "dark"):
            page = ui.open(viewport=viewport, color_scheme=scheme)
            wait_ready(page)
            if size == "narrow":
                page.get_by_test_id("tab-tasks").click()
            # Every list: each top-level task shows its list (steps are in their parent's).
            expect(page.get_by_test_id("task-list-chip")).to_have_count(2)
            shoot(page, f"lists-all-{size}-{scheme}")  # layout and contrast checked
            page.get_by_test_id("filter-list").select_option(trip)
            page.get_by_test_id("task-sort").select_option("position")
            expect(page.get_by_test_id("task-title")).to_have_count(5)
            expect(page.locator("[data-testid=task-item].step")).to_have_count(3)
            page.screenshot(
                path=str(SCREENSHOT_DIR / f"lists-{size}-{scheme}.png"), animations="disabled"
            )
            assert not page.errors  # type: ignore[attr-defined]


def test_drag_to_another_list_and_each_window_keeps_its_view(
    ui: Browser, api: httpx.Client, gemini_key: str
) -> None:
    travel = api.post("/api/lists", json={"name": "Travel"}).json()["id"]
    inbox = next(x["id"] for x in api.get("/api/lists").json()["items"] if x["is_inbox"])
    flight = api.post("/api/tasks", json={"title": "Book flight", "list_id": travel}).json()
    milk = api.post("/api/tasks", json={"title": "Buy milk"}).json()
    assert milk["list_id"] == inbox

    page = ui.open()
    wait_ready(page)
    page.get_by_test_id("task-sort").select_option("position")
    expect(page.get_by_test_id("task-title")).to_have_count(2)
    # Across lists ("All lists", my order): dropped on a Travel task, it joins Travel.
    row = page.locator(f'[data-testid=task-item][data-task-id="{milk["id"]}"]')
    row.drag_to(page.locator(f'[data-testid=task-item][data-task-id="{flight["id"]}"]'))
    for _ in range(50):  # the drop's one /move request
        moved = api.get(f"/api/tasks/{milk['id']}").json()
        if moved["list_id"] == travel:
            break
        page.wait_for_timeout(100)
    assert moved["list_id"] == travel and moved["parent_id"] is None
    # Views across lists show each task's list (but the Inbox's).
    expect(row.get_by_test_id("task-list-chip")).to_have_text("Travel")
    in_travel = api.get("/api/tasks", params={"list_id": travel, "sort": "position"}).json()
    assert [t["title"] for t in in_travel["items"]] == ["Buy milk", "Book flight"]

    # Two windows (tabs) of the app: each keeps its own view across a reload.
    page.get_by_test_id("filter-list").select_option(travel)
    page.get_by_test_id("filter-upcoming").click()
    other = page.context.new_page()
    other.goto(ui.server.url + "/?chat=builtin")
    wait_ready(other)
    expect(other.get_by_test_id("filter-open")).to_have_attribute("aria-selected", "true")
    other.get_by_test_id("filter-today").click()
    page.reload()
    other.reload()
    wait_ready(page)
    wait_ready(other)
    expect(page.get_by_test_id("filter-upcoming")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("filter-list")).to_have_value(travel)
    expect(other.get_by_test_id("filter-today")).to_have_attribute("aria-selected", "true")
    expect(other.get_by_test_id("filter-list")).to_have_value("")
    assert not page.errors  # type: ignore[attr-defined]


def test_a_file_or_link_dropped_on_the_window_is_refused_and_the_app_stays(
    ui: Browser, gemini_key: str
) -> None:
    """A drop nobody cancels makes the web view open the file or link in place of the app;
    the UI cancels file drags anywhere on the window, and link drags except over a text
    field, which takes the link as text (task drags are the test above)."""
    page = ui.open()
    wait_ready(page)
    got = page.evaluate(
        """() => {
      const file = new DataTransfer()
      file.items.add(new File(['%PDF'], 'notes.pdf', { type: 'application/pdf' }))
      const link = new DataTransfer()
      link.setData('text/uri-list', 'https://example.com/trip')
      link.setData('text/plain', 'https://example.com/trip')
      const out = {}
      for (const [what, dt] of [['file', file], ['link', link]]) {
        for (const type of ['dragover', 'drop']) {
          for (const id of ['task-panel', 'chat-input']) {
            const target = document.querySelector(`[data-testid="${id}"]`)
            if (!target) throw new Error(`no ${id}`)
            const e = new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt })
            target.dispatchEvent(e)
            out[`${what} ${type} ${id}`] = e.defaultPrevented
          }
        }
      }
      return out
    }"""
    )
    assert got == {
        "file dragover task-panel": True,
        "file drop task-panel": True,
        "file dragover chat-input": True,
        "file drop chat-input": True,
        "link dragover task-panel": True,
        "link drop task-panel": True,
        "link dragover chat-input": False,  # the composer takes it as text
        "link drop chat-input": False,
    }
    wait_ready(page)  # still the app
