"""5,000 tasks in one view in real headless Chromium: the list is virtualized (only rows near
the view are in the page) and roving focus, Alt+↑/↓, drag and drop and paging still work;
screenshots light/dark, wide/narrow (artifacts/screenshots/long-list-*.png, looked at).
Frame times are measured by benchmarks/bench_panel.py, not here."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from benchmarks.bench_panel import seed_tasks
from tests.e2e.conftest import SCREENSHOT_DIR, WIDE, Browser, wait_ready
from tests.e2e.test_webui_a11y import violations
from tests.e2e.test_webui_screenshots import shoot

pytestmark = pytest.mark.e2e

N = 5_000
NARROW_400 = {"width": 400, "height": 800}


def order(api: httpx.Client, n: int = 4) -> list[str]:
    page = api.get("/api/tasks", params={"sort": "position", "limit": n}).json()
    return [t["title"] for t in page["items"]]


def focused(page) -> dict:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "() => { const el = document.activeElement;"
        " return {title: el?.querySelector('[data-testid=task-title]')?.textContent,"
        " pos: el?.getAttribute('aria-posinset')} }"
    )


def test_5000_tasks_virtualized_keyboard_drag_and_paging(
    ui: Browser, api: httpx.Client, gemini_key: str
) -> None:
    seed_tasks(api, N)
    page = ui.open()
    wait_ready(page)
    page.get_by_test_id("task-sort").select_option("position")
    rows = page.get_by_test_id("task-list")
    items = page.get_by_test_id("task-item")
    panel = page.get_by_test_id("task-panel")
    expect(rows).to_have_attribute("data-rows", "500")
    expect(rows).to_have_attribute("data-virtual", "true")
    expect(page.get_by_test_id("task-count")).to_have_text("5000")
    assert items.count() < 80

    # Roving focus: End goes to the last loaded row (scrolled to), Home back to the first.
    items.first.focus()
    page.keyboard.press("End")
    expect(items.locator("visible=true").last).to_be_visible()
    page.wait_for_function("() => document.activeElement?.getAttribute('aria-posinset') === '500'")
    assert focused(page) == {"title": "Task 0499", "pos": "500"}
    page.keyboard.press("k")
    assert focused(page)["title"] == "Task 0498"
    page.keyboard.press("Home")
    page.wait_for_function("() => document.activeElement?.getAttribute('aria-posinset') === '1'")
    assert focused(page)["title"] == "Task 0000"

    # The focused row stays in the page while the list scrolls far away; j moves on from it.
    panel.evaluate("el => { el.scrollTop = el.scrollHeight / 2 }")
    page.wait_for_timeout(200)
    assert focused(page)["title"] == "Task 0000"
    page.keyboard.press("j")
    page.wait_for_function("() => document.activeElement?.getAttribute('aria-posinset') === '2'")
    assert focused(page)["title"] == "Task 0001"

    # Alt+↓ moves it past its neighbour (one write) and keeps the keyboard on it.
    page.keyboard.press("Alt+ArrowDown")
    expect(items.nth(1).get_by_test_id("task-title")).to_have_text("Task 0002")
    page.wait_for_function(
        "() => { const el = document.activeElement;"
        " return el?.querySelector('[data-testid=task-title]')?.textContent === 'Task 0001'"
        " && el.getAttribute('aria-posinset') === '3' }"
    )
    assert order(api) == ["Task 0000", "Task 0002", "Task 0001", "Task 0003"]

    # Load more: scrolling to the end loads every page.
    for _ in range(40):
        if rows.get_attribute("data-rows") == str(N):
            break
        panel.evaluate("el => { el.scrollTop = el.scrollHeight }")
        page.wait_for_timeout(250)
    expect(rows).to_have_attribute("data-rows", str(N))
    expect(page.get_by_test_id("load-more")).to_have_count(0)
    panel.evaluate("el => { el.scrollTop = el.scrollHeight }")
    expect(items.last).to_have_attribute("aria-posinset", str(N))
    expect(items.last).to_be_in_viewport()
    assert items.count() < 80

    # Drag and drop far down the list: the dragged task goes just before the row dropped on.
    panel.evaluate("el => { el.scrollTop = el.scrollHeight * 0.6 }")
    page.wait_for_timeout(300)
    visible = [
        i
        for i in range(items.count())
        if items.nth(i).is_visible()
        and items.nth(i).evaluate("el => el.getBoundingClientRect().top > 250")
    ]
    source, target = items.nth(visible[0]), items.nth(visible[5])
    moved = source.get_by_test_id("task-title").inner_text()
    onto = target.get_by_test_id("task-title").inner_text()
    source.drag_to(target)
    after = page.locator("[data-testid=task-item]", has_text=onto)
    expect(after).to_have_count(1)
    page.wait_for_function(
        """([moved, onto]) => {
          const rows = [...document.querySelectorAll('[data-testid=task-item]')]
          const a = rows.find((r) => r.innerText.includes(moved))
          const b = rows.find((r) => r.innerText.includes(onto))
          return a && b && +a.getAttribute('aria-posinset') + 1 === +b.getAttribute('aria-posinset')
        }""",
        arg=[moved, onto],
    )
    near = api.get("/api/tasks", params={"sort": "position", "q": moved}).json()["items"]
    assert [t["title"] for t in near] == [moved]
    assert not page.errors  # type: ignore[attr-defined]


def test_long_list_screenshots(ui: Browser, api: httpx.Client, gemini_key: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    seed_tasks(api, 600)
    for viewport, size in ((WIDE, "wide"), (NARROW_400, "narrow")):
        for scheme in ("light", "dark"):
            page = ui.open(viewport=viewport, color_scheme=scheme)
            wait_ready(page)
            if size == "narrow":
                page.get_by_test_id("tab-tasks").click()
            page.get_by_test_id("task-sort").select_option("position")
            expect(page.get_by_test_id("task-list")).to_have_attribute("data-virtual", "true")
            page.get_by_test_id("task-panel").evaluate("el => { el.scrollTop = 9000 }")
            page.wait_for_timeout(300)
            shoot(page, f"long-list-{size}-{scheme}")  # layout and contrast checked
            assert violations(page, "virtualized list") == []
            assert not page.errors  # type: ignore[attr-defined]
