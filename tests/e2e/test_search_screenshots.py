"""Search, task ↔ chat links and quick add in headless Chromium, with screenshots
(artifacts/screenshots/search-*.png, links-*.png, quickadd-*.png) for people to look at."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import NARROW, WIDE, Browser, wait_ready
from tests.e2e.test_webui_screenshots import assert_no_errors, shoot
from tests.fakes.gemini import FakeGemini, Text, ToolCalls

pytestmark = pytest.mark.e2e

FILLER = [
    ("What should I pack for a weekend on the island?", "Layers, a rain jacket and good shoes."),
    ("Anything about the ferry times?", "Ferries leave every hour from Den Helder."),
    ("Remind me what the bike rental costs", "About 12 euros a day per bike."),
    ("And the museum?", "The Ecomare museum opens at 10."),
]


def send(page, text: str, expect_text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("send-button").click()
    expect(page.get_by_test_id("message-assistant").last).to_contain_text(expect_text)


def test_search_links_and_quick_add(
    ui: Browser, gemini: FakeGemini, gemini_key: str, api: httpx.Client
) -> None:
    api.post("/api/tasks", json={"title": "Water the plants", "tags": ["home"]})
    gemini.push(
        ToolCalls(
            [
                (
                    "create_task",
                    {"title": "Renew passport", "priority": "high", "tags": ["travel"]},
                ),
                ("create_task", {"title": "Book the ferry to Texel", "tags": ["travel"]}),
            ]
        ),
        Text(["Added **Renew passport** (high) and **Book the ferry to Texel**."]),
    )
    for _q, a in FILLER:
        gemini.push(Text([a]))
    page = ui.open()
    wait_ready(page)
    send(page, "Plan the Texel trip: renew my passport, book the ferry", "Added")
    # The reply lists the tasks it touched.
    chips = page.get_by_test_id("touched-chip")
    expect(chips).to_have_count(2)
    # The two create_task calls run concurrently, so either may finish (and be listed) first.
    expect(chips.filter(has_text="added: Renew passport")).to_have_count(1)
    expect(chips.filter(has_text="added: Book the ferry to Texel")).to_have_count(1)
    for q, a in FILLER:
        send(page, q, a.split()[0])
    # A second conversation that mentions the passport again.
    gemini.push(Text(["Your **passport** photos must be recent (under 6 months)."]))
    page.get_by_test_id("new-chat-button").click()
    send(page, "What photos do I need for the passport?", "photos")

    for scheme in ("light", "dark"):
        page = ui.open(viewport=WIDE, color_scheme=scheme)
        wait_ready(page)
        box = page.get_by_test_id("global-search-input")
        box.fill("passport")
        results = page.get_by_test_id("search-result")
        expect(results.first).to_be_visible()
        kinds = {results.nth(i).get_attribute("data-kind") for i in range(results.count())}
        assert {"task", "message", "thread"} <= kinds, kinds
        expect(results.first.locator("mark").first).to_have_text("passport", ignore_case=True)
        shoot(page, f"search-{scheme}-wide-results")

        # Open the first message hit of the Texel thread: it scrolls into view and flashes.
        texel = (
            results.filter(has_text="Plan the Texel trip")
            .filter(has=page.locator("mark"))
            .and_(page.locator('[data-kind="message"]'))
        )
        texel.first.click()
        target = page.locator(".msg-flash")
        expect(target).to_have_count(1)
        expect(target).to_be_in_viewport()
        expect(target).to_contain_text("passport")
        shoot(page, f"search-{scheme}-wide-opened-message")

        # The task panel says where each task came from; the link jumps there.
        source = (
            page.get_by_test_id("task-item")
            .filter(has_text="Renew passport")
            .get_by_test_id("task-source")
        )
        expect(source).to_have_attribute(
            "aria-label",
            "Open the chat message this task came from "
            "(Plan the Texel trip: renew my passport, book…)",
        )
        expect(
            page.get_by_test_id("task-item")
            .filter(has_text="Water the plants")
            .get_by_test_id("task-source")
        ).to_have_count(0)
        page.get_by_test_id("new-chat-button").click()
        source.click()
        expect(page.locator(".msg-flash")).to_be_in_viewport()
        expect(page.locator(".chat-title")).to_contain_text("Plan the Texel trip")
        shoot(page, f"links-{scheme}-wide-task-panel")

        # A task hit opens the task list at that task.
        box.fill("ferry texel")
        page.get_by_test_id("search-result").and_(page.locator('[data-kind="task"]')).filter(
            has_text="Book the ferry"
        ).click()
        expect(page.locator(".task-item.flash")).to_contain_text("Book the ferry")

        # Quick add shows what it understood before saving.
        page.get_by_test_id("task-add-input").fill("buy milk tomorrow !high #groceries")
        expect(page.get_by_test_id("quick-chip")).to_have_count(3)
        shoot(page, f"quickadd-{scheme}-wide-chips")

    # Narrow: the search results fit the screen; tasks tab shows sources.
    page = ui.open(viewport=NARROW, color_scheme="light")
    wait_ready(page)
    page.get_by_test_id("global-search-input").fill("passport")
    expect(page.get_by_test_id("search-result").first).to_be_in_viewport()
    shoot(page, "search-light-narrow-results")
    page.keyboard.press("Escape")
    page.get_by_test_id("tab-tasks").click()
    expect(page.get_by_test_id("task-source").first).to_be_in_viewport()
    shoot(page, "links-light-narrow-tasks")
    # Saving via quick add works without the model.
    calls = len(gemini.requests)
    page.get_by_test_id("task-add-input").fill("call mum friday !low #family")
    page.get_by_test_id("task-add-button").click()
    added = page.get_by_test_id("task-item").filter(has_text="call mum")
    expect(added).to_have_count(1)
    expect(added).to_contain_text("#family")
    assert len(gemini.requests) == calls
    assert_no_errors(ui)
