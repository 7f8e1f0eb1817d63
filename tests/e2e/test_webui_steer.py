"""Steering a reply in headless Chromium: Stop marks the reply as stopped, Regenerate asks
again, and a finished reply can be copied (artifacts/screenshots/steer-*.png)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browser, wait_ready
from tests.e2e.test_webui_screenshots import assert_no_errors, shoot
from tests.fakes.gemini import FakeGemini, Text

pytestmark = pytest.mark.e2e


def test_stop_regenerate_and_copy(ui: Browser, gemini: FakeGemini, gemini_key: str) -> None:
    page = ui.open()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    wait_ready(page)
    gemini.push(
        Text(["Here is ", "a long ", "answer ", "that ", "goes ", "on"], delay=0.6),
        Text(["A fresh **answer**."]),
    )
    page.get_by_test_id("chat-input").fill("tell me something")
    page.get_by_test_id("send-button").click()
    reply = page.get_by_test_id("message-assistant")
    expect(reply).to_have_attribute("data-streaming", "true")
    expect(reply).to_contain_text("Here is")
    page.get_by_test_id("stop-button").click()

    mark = page.get_by_test_id("stopped-mark")
    expect(mark).to_contain_text("You stopped this reply.")
    expect(page.get_by_test_id("chat-input")).to_be_visible()
    shoot(page, "steer-stopped")

    page.get_by_test_id("regenerate-button").click()
    expect(mark).to_have_count(0)
    expect(reply.last).to_have_text("A fresh answer.")
    expect(page.get_by_test_id("message-user")).to_have_count(1)  # asked again, not resent

    page.get_by_test_id("copy-reply").last.click()
    expect(page.get_by_test_id("copy-reply").last).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "A fresh **answer**."
    shoot(page, "steer-copied")
    assert_no_errors(ui)
