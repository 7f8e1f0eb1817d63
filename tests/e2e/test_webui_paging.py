"""Long lists page in headless Chromium: a Done tab with 1,200 tasks shows the real total
and loads the rest as it is scrolled to the end (artifacts/screenshots/paging-*.png)."""

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
    expect(items).to_have_count(500)
    expect(page.get_by_test_id("task-count")).to_have_text("1200")  # the real total
    expect(page.get_by_test_id("load-more")).to_contain_text("Showing 500 of 1,200")

    # Scrolling to the end loads the next page, until there is none.
    for _ in range(10):
        if items.count() == N:
            break
        items.last.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
    expect(items).to_have_count(N)
    expect(page.get_by_test_id("load-more")).to_have_count(0)
    titles = items.locator("[data-testid=task-title]").all_inner_texts()
    assert len(set(titles)) == N  # every task once
    items.last.scroll_into_view_if_needed()
    expect(items.last).to_be_in_viewport()
    shoot(page, "paging-done-end")
    assert_no_errors(ui)
