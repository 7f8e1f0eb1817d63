"""Accessibility in headless Chromium: axe-core (webui's devDependency) finds no serious or
critical violation on the main screens and dialogs, light and dark, wide and narrow."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NARROW, ROOT, WIDE, Browser, wait_ready
from tests.fakes.gemini import Fail, FakeGemini, Text, ToolCalls

pytestmark = pytest.mark.e2e

AXE = ROOT / "webui" / "node_modules" / "axe-core" / "axe.min.js"
needs_axe = pytest.mark.skipif(
    not AXE.is_file(), reason="axe-core not installed (cd webui && npm ci)"
)


def violations(page: Page, where: str) -> list[str]:
    """Serious and critical axe findings on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # devtools evaluate: not subject to the CSP
    result: dict[str, Any] = page.evaluate(
        """async () => axe.run(document, { runOnly: { type: 'tag', values: [
             'wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })"""
    )
    return [
        f"{where}: {v['id']} ({v['impact']}) {v['help']} — "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@needs_axe
@pytest.mark.parametrize(
    ("viewport", "scheme"), [(WIDE, "light"), (NARROW, "dark")], ids=["wide-light", "narrow-dark"]
)
def test_main_screens_and_dialogs_have_no_serious_violations(
    ui: Browser,
    gemini: FakeGemini,
    gemini_key: str,
    api: httpx.Client,
    viewport: dict[str, int],
    scheme: str,
) -> None:
    dentist = {"title": "Call the dentist", "due": "2026-12-01", "tags": ["health"]}
    assert api.post("/api/tasks", json=dentist).status_code == 201
    page = ui.open(viewport=viewport, color_scheme=scheme)
    wait_ready(page)
    found = violations(page, "start screen")

    gemini.push(ToolCalls([("create_task", {"title": "Buy milk"})]), Text(["Added **Buy milk**."]))
    page.get_by_test_id("chat-input").fill("add a task to buy milk")
    page.get_by_test_id("send-button").click()
    expect(page.get_by_test_id("message-assistant")).to_contain_text("Added Buy milk")
    found += violations(page, "chat with a reply")

    if viewport is NARROW:
        page.get_by_test_id("tab-tasks").click()
    expect(page.get_by_test_id("task-item")).to_have_count(2)
    found += violations(page, "task panel")
    page.get_by_test_id("task-item").first.get_by_test_id("task-title").click()
    expect(page.get_by_test_id("task-editor")).to_be_visible()
    found += violations(page, "task editor")
    page.keyboard.press("Escape")

    page.get_by_test_id("global-search-input").fill("milk")
    expect(page.get_by_test_id("search-result").first).to_be_visible()
    found += violations(page, "search results")
    page.keyboard.press("Escape")

    page.get_by_test_id("settings-button").click()
    expect(page.get_by_test_id("settings-dialog")).to_be_visible()
    found += violations(page, "settings dialog")
    page.get_by_test_id("settings-close").click()

    page.get_by_test_id("shortcuts-button").click()
    expect(page.get_by_test_id("shortcut-help")).to_be_visible()
    found += violations(page, "shortcuts dialog")
    assert not found, "\n".join(found)

    # The check can fail: an image without a text alternative is caught.
    page.keyboard.press("Escape")
    page.evaluate("document.body.append(Object.assign(new Image(1, 1), {id: 'no-alt'}))")
    assert any("image-alt" in v for v in violations(page, "planted")), "axe did not run"


@needs_axe
@pytest.mark.parametrize(
    ("viewport", "scheme"), [(WIDE, "dark"), (NARROW, "light")], ids=["wide-dark", "narrow-light"]
)
def test_first_run_and_error_states_have_no_serious_violations(
    ui: Browser, gemini: FakeGemini, viewport: dict[str, int], scheme: str
) -> None:
    """The welcome step (no keyring, a rejected key), a quota countdown, the key error
    with "Open key settings", Settings opened at the key, and editing a message."""
    page = ui.open("/", viewport=viewport, color_scheme=scheme)
    wait_ready(page, "builtin")
    welcome = page.get_by_test_id("welcome-dialog")
    expect(welcome).to_be_visible()
    found = violations(page, "welcome")
    gemini.rejected_keys.add("AIza-refused")
    welcome.get_by_test_id("gemini-key-input").fill("AIza-refused")
    welcome.get_by_test_id("plaintext-checkbox").check()
    welcome.get_by_test_id("gemini-key-save").click()
    expect(welcome.get_by_test_id("key-outcome")).to_have_attribute("data-kind", "rejected")
    found += violations(page, "welcome, key rejected")
    welcome.get_by_test_id("welcome-close").click()

    if viewport is NARROW:
        page.get_by_test_id("tab-chat").click()
    page.get_by_test_id("chat-input").fill("hello")
    page.get_by_test_id("chat-input").press("Enter")
    expect(page.get_by_test_id("open-key-settings")).to_be_visible()
    found += violations(page, "no-key error")
    page.get_by_test_id("open-key-settings").click()
    expect(page.get_by_test_id("gemini-key-input")).to_be_focused()
    found += violations(page, "settings at the key")
    page.get_by_test_id("gemini-key-input").fill("AIza-accepted")
    page.get_by_test_id("plaintext-checkbox").check()
    page.get_by_test_id("gemini-key-save").click()
    expect(page.get_by_test_id("key-outcome")).to_have_attribute("data-kind", "saved")
    page.get_by_test_id("settings-close").click()
    expect(page.get_by_test_id("resend-button")).to_be_visible()
    found += violations(page, "key saved, resend")

    gemini.push(Fail(429, "Quota", "RESOURCE_EXHAUSTED", headers={"Retry-After": "30"}))
    page.get_by_test_id("resend-button").click()
    expect(page.get_by_test_id("quota-countdown")).to_be_visible()
    found += violations(page, "quota countdown")
    page.get_by_test_id("quota-cancel").click()
    found += violations(page, "quota cancelled")
    page.get_by_test_id("edit-message").click()
    expect(page.get_by_test_id("edit-input")).to_be_focused()
    found += violations(page, "editing a message")
    assert not found, "\n".join(found)
