"""Long lists page in headless Chromium: a Done tab with 1,200 tasks shows the real total
and loads the rest as it is scrolled to the end (artifacts/screenshots/paging-*.png). The
list is virtualized: the page holds the rows near the view, `data-rows` counts them all."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browser, wait_ready
from tests.e2e.test_webui_screenshots import assert_no_errors, shoot

pytestmark = pytest.mark.e2e

N = 1200


def test_done_tab_with_1200_tasks_scrolls_to_the_end(
    ui: Browser, gemini_key: str, api: httpx.Client
) -> None:
    for i in range(N):
        r = api.post("/api/tasks", json={"title": f"Done {i:04d}", "completed": True})
        assert r.status_code == 201, r.text
    page = ui.open()
    wait_ready(page)
    page.get_by_test_id("filter-done").click()
    items = page.get_by_test_id("task-item")
    rows = page.get_by_test_id("task-list")
    expect(rows).to_have_attribute("data-rows", "500")
    expect(rows).to_have_attribute("data-virtual", "true")
    assert items.count() < 100  # only the rows near the view are in the page
    expect(page.get_by_test_id("task-count")).to_have_text("1200")  # the real total
    expect(page.get_by_test_id("load-more")).to_contain_text("Showing 500 of 1,200")

    # Scrolling to the end loads the next page, until there is none.
    panel = page.get_by_test_id("task-panel")
    for _ in range(20):
        if rows.get_attribute("data-rows") == str(N):
            break
        panel.evaluate("el => { el.scrollTop = el.scrollHeight }")
        page.wait_for_timeout(300)
    # Every task once (the loaded pages are merged by id).
    expect(rows).to_have_attribute("data-rows", str(N))
    expect(page.get_by_test_id("load-more")).to_have_count(0)
    panel.evaluate("el => { el.scrollTop = el.scrollHeight }")
    expect(items.last).to_have_attribute("aria-posinset", str(N))
    expect(items.last).to_be_in_viewport()
    titles = items.locator("[data-testid=task-title]").all_inner_texts()
    assert 0 < len(titles) < 100 and len(set(titles)) == len(titles)
    shoot(page, "paging-done-end")
    assert_no_errors(ui)
