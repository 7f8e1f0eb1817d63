"""The first minutes and the bad moments after, in headless Chromium against the real server
and the fake Gemini (issue 25): the first-run key step with its three outcomes and the
no-keyring choice, a quota's countdown and automatic retry, a bad or missing key fixed in
Settings and the message resent with one click, Gemini unreachable told apart from being
offline, editing and resending the last message, thread titles, chat-made tasks' links and
the time zone in Settings. Screenshots: artifacts/screenshots/ux-*.png."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.config import Settings
from tests.e2e.conftest import TEST_KEY, WIDE, Browser, wait_ready
from tests.e2e.test_webui_screenshots import assert_no_errors, shoot
from tests.fakes.gemini import Fail, FakeGemini, Text, ToolCalls

pytestmark = pytest.mark.e2e

NARROW = {"width": 400, "height": 800}
LOOKS = [(WIDE, "light"), (NARROW, "dark"), (WIDE, "dark"), (NARROW, "light")]
LOOK_IDS = ["wide-light", "narrow-dark", "wide-dark", "narrow-light"]
TWO_LOOKS = LOOKS[:2]
TWO_IDS = LOOK_IDS[:2]
BAD_KEY = "fake-e2e-key-google-refuses"
QUOTA = Fail(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED")


def name(viewport: dict[str, int], scheme: str, what: str) -> str:
    return f"ux-{scheme}-{'wide' if viewport is WIDE else 'narrow'}-{what}"


def send(page: Page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


def show_chat(page: Page, viewport: dict[str, int]) -> None:
    if viewport is NARROW and page.get_by_test_id("tab-chat").count():
        page.get_by_test_id("tab-chat").click()


def saved_key(api: httpx.Client) -> dict[str, Any]:
    return api.get("/api/settings").json()["gemini_key"]


@pytest.mark.parametrize(("viewport", "scheme"), LOOKS, ids=LOOK_IDS)
def test_first_run_checks_the_key_then_opens_the_first_chat(
    ui: Browser, gemini: FakeGemini, api: httpx.Client, viewport: dict[str, int], scheme: str
) -> None:
    page = ui.open("/", viewport=viewport, color_scheme=scheme)
    wait_ready(page, "builtin")
    welcome = page.get_by_test_id("welcome-dialog")
    expect(welcome).to_be_visible()
    expect(page.get_by_test_id("settings-dialog")).to_have_count(0)  # one step, not Settings
    expect(welcome.get_by_test_id("welcome-key-link")).to_have_attribute(
        "href", "https://aistudio.google.com/apikey"
    )
    # No keyring here (TASKCHAT_KEYRING_BACKEND=fail): said in plain words, with a choice.
    keyring = welcome.get_by_test_id("keyring-message")
    expect(keyring).to_contain_text("This computer has no password keyring running")
    assert "SecretService" not in keyring.locator("p").inner_text()
    expect(keyring.locator("details")).not_to_have_attribute("open", "")
    save = welcome.get_by_test_id("gemini-key-save")
    key_input = welcome.get_by_test_id("gemini-key-input")
    key_input.fill(BAD_KEY)
    expect(save).to_be_disabled()  # the choice is not made yet, and the page says so
    expect(welcome).to_contain_text("Tick the box above to keep the key in a file.")
    welcome.get_by_test_id("plaintext-checkbox").check()
    expect(save).to_be_enabled()
    shoot(page, name(viewport, scheme, "first-run"))

    # 1. Google rejects the key: Google's reason, nothing saved, the key stays to fix.
    gemini.rejected_keys.add(BAD_KEY)
    save.click()
    outcome = welcome.get_by_test_id("key-outcome")
    expect(outcome).to_have_attribute("data-kind", "rejected")
    expect(outcome).to_contain_text(
        "Google rejected this key: “API key not valid. Please pass a valid API key.”"
    )
    expect(outcome).to_contain_text("The key was not saved.")
    expect(key_input).to_have_value(BAD_KEY)
    assert saved_key(api)["set"] is False
    shoot(page, name(viewport, scheme, "first-run-rejected"))

    # 2. Gemini cannot be reached (the network is fine): said so, "Save anyway" offered.
    key_input.fill(TEST_KEY)
    gemini.unreachable = True
    save.click()
    expect(outcome).to_have_attribute("data-kind", "unchecked")
    expect(outcome).to_contain_text("Couldn't reach Gemini to check the key")
    expect(welcome.get_by_test_id("gemini-key-save-unchecked")).to_be_visible()
    assert saved_key(api)["set"] is False
    shoot(page, name(viewport, scheme, "first-run-unreachable"))

    # 3. Gemini is back and accepts it: saved, and on to the first chat.
    gemini.unreachable = False
    save.click()
    expect(outcome).to_contain_text("Gemini accepted the key. Saved.")
    assert saved_key(api) == {"set": True, "last4": TEST_KEY[-4:], "source": "file"}
    assert gemini.model_lists[-1].headers["authorization"] == f"Bearer {TEST_KEY}"
    expect(welcome).to_have_count(0)
    show_chat(page, viewport)
    expect(page.get_by_test_id("start-screen")).to_be_visible()
    expect(page.get_by_test_id("start-prompt").first).to_be_visible()
    shoot(page, name(viewport, scheme, "first-chat"))
    gemini.push(Text(["Hi! Tell me what you need to get done."]))
    send(page, "hello")
    expect(page.get_by_test_id("message-assistant")).to_have_text(
        "Hi! Tell me what you need to get done."
    )
    assert gemini.requests[-1].headers["authorization"] == f"Bearer {TEST_KEY}"
    assert_no_errors(ui)


def test_first_run_can_save_a_key_unchecked_when_gemini_is_unreachable(
    ui: Browser, gemini: FakeGemini, api: httpx.Client
) -> None:
    page = ui.open("/", viewport=NARROW, color_scheme="light")
    wait_ready(page, "builtin")
    welcome = page.get_by_test_id("welcome-dialog")
    welcome.get_by_test_id("gemini-key-input").fill(TEST_KEY)
    welcome.get_by_test_id("plaintext-checkbox").check()
    gemini.unreachable = True
    welcome.get_by_test_id("gemini-key-save").click()
    welcome.get_by_test_id("gemini-key-save-unchecked").click()
    expect(welcome.get_by_test_id("key-outcome")).to_contain_text("Saved — not checked yet.")
    assert saved_key(api)["set"] is True
    expect(welcome).to_have_count(0)
    assert_no_errors(ui)


@pytest.fixture
def gemini_retries(gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> None:
    """The openai client's own retries on, as in the app (the e2e default turns them off):
    a 429 must still come back at once instead of being waited out unseen."""
    monkeypatch.setenv("TASKCHAT_MAX_RETRIES", "2")


@pytest.mark.parametrize(("viewport", "scheme"), LOOKS, ids=LOOK_IDS)
def test_quota_counts_down_and_retries_by_itself(
    gemini_retries: None,
    ui: Browser,
    gemini: FakeGemini,
    gemini_key: str,
    viewport: dict[str, int],
    scheme: str,
) -> None:
    page = ui.open(viewport=viewport, color_scheme=scheme)
    wait_ready(page)
    show_chat(page, viewport)
    gemini.push(
        Fail(QUOTA.status, QUOTA.message, QUOTA.gemini_status, retry_delay="4s"),
        Text(["Nothing is ", "due today."]),
    )
    started = time.monotonic()
    send(page, "what is due today?")
    error = page.get_by_test_id("chat-error")
    expect(error).to_have_attribute("data-code", "quota")
    assert time.monotonic() - started < 5, "the wait was not shown at once"
    countdown = page.get_by_test_id("quota-countdown")
    expect(countdown).to_have_text(re.compile(r"Trying again in [34] s…"))
    assert len(gemini.requests) == 1  # no silent retry underneath
    expect(page.get_by_test_id("message-user")).to_have_text("what is due today?")
    shoot(page, name(viewport, scheme, "quota-countdown"))
    expect(countdown).to_have_text(re.compile(r"Trying again in [12] s…"), timeout=4_000)

    # At 0 it asks again by itself: the same message, once.
    expect(page.get_by_test_id("message-assistant")).to_have_text("Nothing is due today.")
    expect(error).to_have_count(0)
    expect(page.get_by_test_id("message-user")).to_have_count(1)
    assert len(gemini.requests) == 2
    assert gemini.requests[1].at - gemini.requests[0].at >= 3.5
    users = [m for m in gemini.requests[1].messages if m["role"] == "user"]
    assert len(users) == 1 and "what is due today?" in str(users[0]["content"])
    assert_no_errors(ui)


def test_quota_retry_can_be_cancelled_and_waits_for_the_countdown(
    ui: Browser, gemini: FakeGemini, gemini_key: str
) -> None:
    page = ui.open()
    wait_ready(page)
    gemini.push(
        Fail(QUOTA.status, QUOTA.message, QUOTA.gemini_status, headers={"Retry-After": "3"}),
        Text(["Fine now."]),
    )
    send(page, "hello")
    page.get_by_test_id("quota-cancel").click()
    retry = page.get_by_test_id("retry-button")
    expect(retry).to_be_disabled()
    expect(retry).to_have_text(re.compile(r"Retry in [123] s"))
    expect(page.get_by_test_id("quota-countdown")).to_have_text(
        re.compile(r"You can retry in [123] s\.")
    )
    shoot(page, "ux-light-wide-quota-cancelled")
    expect(retry).to_be_enabled(timeout=5_000)
    expect(retry).to_have_text("Retry")
    time.sleep(0.5)
    assert len(gemini.requests) == 1  # cancelled: nothing asked by itself
    retry.click()
    expect(page.get_by_test_id("message-assistant")).to_have_text("Fine now.")
    expect(page.get_by_test_id("message-user")).to_have_count(1)
    assert len(gemini.requests) == 2
    assert_no_errors(ui)


def fix_key_in_settings(page: Page, key: str) -> None:
    """Open key settings from the error, paste a key Gemini accepts, save, close."""
    page.get_by_test_id("open-key-settings").click()
    dialog = page.get_by_test_id("settings-dialog")
    expect(dialog).to_be_visible()
    key_input = dialog.get_by_test_id("gemini-key-input")
    expect(key_input).to_be_focused()  # opened at the key field
    key_input.fill(key)
    if dialog.get_by_test_id("plaintext-checkbox").count():
        dialog.get_by_test_id("plaintext-checkbox").check()
    dialog.get_by_test_id("gemini-key-save").click()
    expect(dialog.get_by_test_id("key-outcome")).to_contain_text("Gemini accepted the key.")
    dialog.get_by_test_id("settings-close").click()
    expect(dialog).to_have_count(0)


@pytest.mark.parametrize(("viewport", "scheme"), LOOKS, ids=LOOK_IDS)
def test_bad_key_opens_settings_then_resends_with_one_click(
    ui: Browser, gemini: FakeGemini, api: httpx.Client, viewport: dict[str, int], scheme: str
) -> None:
    body = {"api_key": BAD_KEY, "allow_plaintext_file": True}
    assert api.put("/api/settings/gemini-key", json=body).status_code == 200
    gemini.rejected_keys.add(BAD_KEY)
    page = ui.open(viewport=viewport, color_scheme=scheme)
    wait_ready(page)
    show_chat(page, viewport)
    send(page, "add a task to renew my passport")
    error = page.get_by_test_id("chat-error")
    expect(error).to_contain_text("Gemini rejected your API key")
    expect(page.get_by_test_id("open-key-settings")).to_be_visible()
    expect(page.get_by_test_id("retry-button")).to_have_count(0)  # it would only fail again
    shoot(page, name(viewport, scheme, "bad-key"))

    fix_key_in_settings(page, TEST_KEY)
    expect(error).to_have_attribute("data-code", "key_saved")
    expect(error).to_contain_text("Your key is saved. Send your message again?")
    shoot(page, name(viewport, scheme, "key-saved-resend"))
    gemini.push(ToolCalls([("create_task", {"title": "Renew passport"})]), Text(["Added."]))
    page.get_by_test_id("resend-button").click()
    expect(page.get_by_test_id("message-assistant")).to_have_text("Added.")
    expect(error).to_have_count(0)
    expect(page.get_by_test_id("message-user")).to_have_count(1)
    assert gemini.requests[-1].headers["authorization"] == f"Bearer {TEST_KEY}"
    assert [t["title"] for t in api.get("/api/tasks").json()["items"]] == ["Renew passport"]
    assert_no_errors(ui)


def test_no_key_keeps_the_message_and_sends_it_once_a_key_is_added(
    ui: Browser, gemini: FakeGemini, api: httpx.Client
) -> None:
    page = ui.open("/?chat=builtin", viewport=WIDE, color_scheme="dark")
    wait_ready(page)
    page.get_by_test_id("welcome-close").click()  # "set up later"
    send(page, "what is due today?")
    error = page.get_by_test_id("chat-error")
    expect(error).to_contain_text("Add your Gemini API key in Settings")
    expect(page.get_by_test_id("message-user")).to_have_text("what is due today?")
    assert gemini.requests == []
    shoot(page, "ux-dark-wide-no-key")

    fix_key_in_settings(page, TEST_KEY)
    gemini.push(Text(["Nothing is due today."]))
    page.get_by_test_id("resend-button").click()
    expect(page.get_by_test_id("message-assistant")).to_have_text("Nothing is due today.")
    expect(page.get_by_test_id("message-user")).to_have_count(1)
    # One conversation, with the message and its answer: no empty thread left behind.
    expect(page.get_by_test_id("thread-item")).to_have_count(1)
    expect(page.get_by_test_id("thread-item")).to_contain_text("what is due today?")
    assert_no_errors(ui)


@pytest.mark.parametrize(("viewport", "scheme"), TWO_LOOKS, ids=TWO_IDS)
def test_gemini_unreachable_is_not_called_offline(
    ui: Browser,
    gemini: FakeGemini,
    gemini_key: str,
    settings: Settings,
    viewport: dict[str, int],
    scheme: str,
) -> None:
    page = ui.open(viewport=viewport, color_scheme=scheme)
    wait_ready(page)
    show_chat(page, viewport)
    settings.gemini_base_url = "http://127.0.0.1:1/v1beta/openai/"  # nothing listens there
    send(page, "hello")
    error = page.get_by_test_id("chat-error")
    expect(error).to_contain_text("Can't reach Gemini right now — your message is saved.")
    expect(error).not_to_contain_text("offline")
    assert page.evaluate("navigator.onLine") is True
    shoot(page, name(viewport, scheme, "unreachable"))

    settings.gemini_base_url = gemini.base_url
    gemini.push(Text(["Hello again."]))
    page.get_by_test_id("retry-button").click()
    expect(page.get_by_test_id("message-assistant")).to_have_text("Hello again.")
    expect(page.get_by_test_id("message-user")).to_have_count(1)
    assert_no_errors(ui)


@pytest.mark.parametrize(("viewport", "scheme"), TWO_LOOKS, ids=TWO_IDS)
def test_offline_says_so_and_sends_when_back_online(
    ui: Browser, gemini: FakeGemini, gemini_key: str, viewport: dict[str, int], scheme: str
) -> None:
    page = ui.open(viewport=viewport, color_scheme=scheme)
    wait_ready(page)
    show_chat(page, viewport)
    page.context.set_offline(True)
    send(page, "add milk")
    error = page.get_by_test_id("chat-error")
    expect(error).to_contain_text("You are offline — your message is kept")
    expect(page.get_by_test_id("message-user")).to_have_text("add milk")
    assert gemini.requests == []
    shoot(page, name(viewport, scheme, "offline"))

    gemini.push(Text(["Added milk."]))
    page.context.set_offline(False)  # the browser's "online" event: sent by itself
    expect(page.get_by_test_id("message-assistant")).to_have_text("Added milk.")
    expect(error).to_have_count(0)
    expect(page.get_by_test_id("message-user")).to_have_count(1)
    assert len(gemini.requests) == 1
    assert_no_errors(ui)


@pytest.mark.parametrize(("viewport", "scheme"), TWO_LOOKS, ids=TWO_IDS)
def test_edit_the_last_message_and_resend(
    ui: Browser, gemini: FakeGemini, gemini_key: str, viewport: dict[str, int], scheme: str
) -> None:
    page = ui.open(viewport=viewport, color_scheme=scheme)
    wait_ready(page)
    show_chat(page, viewport)
    gemini.push(Text(["Added **milk**."]), Text(["Added **oat milk**."]))
    send(page, "add milk")
    expect(page.get_by_test_id("message-assistant")).to_have_text("Added milk.")

    page.get_by_test_id("edit-message").click()
    box = page.get_by_test_id("edit-input")
    expect(box).to_be_focused()
    expect(box).to_have_value("add milk")
    box.fill("add oat milk")
    shoot(page, name(viewport, scheme, "edit"))
    box.press("Enter")
    expect(page.get_by_test_id("message-assistant")).to_have_text("Added oat milk.")
    expect(page.get_by_test_id("message-user")).to_have_text("add oat milk")
    expect(page.get_by_test_id("message-assistant")).to_have_count(1)
    users = [m for m in gemini.requests[-1].messages if m["role"] == "user"]
    assert len(users) == 1 and "add oat milk" in str(users[0]["content"])

    # After a reload the edited text is what is stored.
    page.reload()
    wait_ready(page)
    show_chat(page, viewport)
    expect(page.get_by_test_id("message-user")).to_have_text("add oat milk")
    expect(page.get_by_test_id("message-assistant")).to_have_text("Added oat milk.")
    assert_no_errors(ui)


def test_titles_and_task_links_are_short(
    ui: Browser, gemini: FakeGemini, gemini_key: str, api: httpx.Client
) -> None:
    page = ui.open(color_scheme="light")
    wait_ready(page)
    gemini.push(
        ToolCalls([("create_task", {"title": "Renew passport", "priority": "high"})]),
        Text(["Added **Renew passport**, high priority."]),
    )
    send(page, "add a task to renew my passport by Friday, high priority. Also remind me")
    expect(page.get_by_test_id("message-assistant")).to_contain_text("Added Renew passport")
    thread = page.get_by_test_id("thread-item")
    expect(thread).to_have_count(1)
    expect(thread).to_contain_text("add a task to renew my passport by Friday…")
    expect(page.locator(".chat-title")).to_have_text("add a task to renew my passport by Friday…")

    row = page.get_by_test_id("task-item").filter(has_text="Renew passport")
    link = row.get_by_test_id("task-source")
    expect(link).to_have_text("")  # an icon, not "from: add a task to renew my p…"
    expect(link).to_have_attribute(
        "aria-label",
        "Open the chat message this task came from (add a task to renew my passport by Friday…)",
    )
    shoot(page, "ux-light-wide-title-and-link")
    page.get_by_test_id("new-chat-button").click()
    link.click()
    expect(page.locator(".msg-flash")).to_be_in_viewport()
    assert_no_errors(ui)


@pytest.mark.parametrize(("viewport", "scheme"), TWO_LOOKS, ids=TWO_IDS)
def test_time_zone_is_shown_and_changed_in_settings(
    ui: Browser,
    gemini: FakeGemini,
    gemini_key: str,
    api: httpx.Client,
    viewport: dict[str, int],
    scheme: str,
) -> None:
    assert api.get("/api/settings").json()["timezone"] == ""  # the OS zone
    page = ui.open(viewport=viewport, color_scheme=scheme)
    wait_ready(page)
    page.get_by_test_id("settings-button").click()
    dialog = page.get_by_test_id("settings-dialog")
    current = dialog.get_by_test_id("timezone-current")
    expect(current).to_have_text("this computer's zone (UTC)")  # the browser runs in UTC
    zone = dialog.get_by_test_id("timezone-input")
    zone.scroll_into_view_if_needed()
    zone.fill("Pacific/Auckland")
    shoot(page, name(viewport, scheme, "settings-timezone"))
    dialog.get_by_test_id("timezone-save").click()
    expect(dialog).to_contain_text("Time zone set to Pacific/Auckland.")
    expect(current).to_have_text("Pacific/Auckland")
    assert api.get("/api/settings").json()["timezone"] == "Pacific/Auckland"
    # A name that is not a zone is refused, plainly.
    zone.fill("Mars/Olympus")
    dialog.get_by_test_id("timezone-save").click()
    expect(dialog.get_by_test_id("settings-error")).to_contain_text("unknown time zone")
    assert api.get("/api/settings").json()["timezone"] == "Pacific/Auckland"
    dialog.get_by_test_id("timezone-local").click()
    expect(current).to_have_text("this computer's zone (UTC)")
    assert api.get("/api/settings").json()["timezone"] == ""
    assert_no_errors(ui)
