"""The web UI in real headless Chromium against the real server and the fake Gemini:
first run, chatting a task into existence, completing it, reloading, and Gemini errors."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import TEST_KEY, Browser, wait_ready
from tests.fakes.gemini import Fail, FakeGemini, Text, ToolCalls

pytestmark = pytest.mark.e2e


# Logs, in order, each distinct text of a streaming assistant message and each new task.
RECORDER = """
(() => {
  const seen = (window.__seen = []);
  const note = (e) => { if (seen[seen.length - 1] !== e) seen.push(e); };
  const look = () => {
    for (const m of document.querySelectorAll(
        '[data-testid=message-assistant][data-streaming=true]'))
      note('streaming:' + m.innerText.trim());
    for (const t of document.querySelectorAll('[data-testid=task-item] [data-testid=task-title]'))
      if (!seen.includes('task:' + t.innerText.trim())) seen.push('task:' + t.innerText.trim());
  };
  new MutationObserver(look).observe(document.body,
    { subtree: true, childList: true, characterData: true, attributes: true });
})();
"""


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("chat-input")
    box.fill(text)
    page.get_by_test_id("send-button").click()


def test_first_run_asks_for_a_key_and_chat_uses_it(ui: Browser, gemini: FakeGemini) -> None:
    # No key anywhere; "/" without ?chat: the CDN is unreachable, so this is the fallback.
    # (The key check's three outcomes: tests/e2e/test_webui_first_minutes.py.)
    page = ui.open("/")
    wait_ready(page, "builtin")
    expect(page.get_by_test_id("builtin-chat")).to_be_visible()

    dialog = page.get_by_test_id("welcome-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("API key")
    expect(dialog.get_by_test_id("welcome-key-link")).to_have_attribute(
        "href", "https://aistudio.google.com/apikey"
    )
    dialog.get_by_test_id("gemini-key-input").fill(TEST_KEY)
    # Tests run with no keyring (TASKCHAT_KEYRING_BACKEND=fail): the UI asks before it
    # falls back to a plain file.
    plaintext = dialog.get_by_test_id("plaintext-checkbox")
    if plaintext.count():
        plaintext.check()
    dialog.get_by_test_id("gemini-key-save").click()
    expect(dialog.get_by_test_id("key-outcome")).to_contain_text("Gemini accepted the key.")
    expect(dialog.get_by_test_id("gemini-key-input")).to_have_value("")  # not kept around
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("button", name="Add Gemini key")).to_have_count(0)

    # The key typed into the UI is the one Gemini receives.
    gemini.push(Text(["Hi! I can manage your tasks."]))
    send(page, "hello")
    expect(page.get_by_test_id("message-assistant")).to_have_text("Hi! I can manage your tasks.")
    assert gemini.requests[-1].headers["authorization"] == f"Bearer {TEST_KEY}"
    assert not page.errors  # type: ignore[attr-defined]


def test_chat_adds_task_live_then_complete_and_reload(
    ui: Browser, gemini: FakeGemini, gemini_key: str, api: httpx.Client
) -> None:
    page = ui.open()
    wait_ready(page)
    expect(page.get_by_test_id("welcome-dialog")).to_have_count(0)  # key is set: no nagging
    expect(page.get_by_test_id("task-empty")).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    # (2) The model calls create_task, then streams its reply in several chunks, a
    # little later. A MutationObserver notes what the page showed, in order.
    gemini.push(
        ToolCalls([("create_task", {"title": "Buy milk"})]),
        Text(["Added ", "**Buy milk** ", "to your tasks."], first_delay=0.5, delay=0.15),
    )
    page.evaluate(RECORDER)
    send(page, "add a task to buy milk")
    expect(page.get_by_test_id("message-user")).to_have_text("add a task to buy milk")
    reply = page.get_by_test_id("message-assistant")
    expect(reply).to_have_text("Added Buy milk to your tasks.")
    expect(reply).not_to_have_attribute("data-streaming", "true")
    expect(reply.locator("strong")).to_have_text("Buy milk")  # Markdown rendered
    expect(page.get_by_test_id("send-button")).to_be_visible()
    seen = page.evaluate("window.__seen")
    partial = [e for e in seen if e.startswith("streaming:") and e != "streaming:"]
    # Streamed: partial texts were on screen, marked streaming, before the whole reply.
    assert partial[0] == "streaming:Added", seen
    assert len(partial) >= 2, seen
    # The task reached the panel while the reply was still on its way (the tool's
    # tasks_changed effect), not only when the turn ended.
    assert "task:Buy milk" in seen and seen.index("task:Buy milk") < seen.index(partial[0]), seen

    item = page.get_by_test_id("task-item").filter(has_text="Buy milk")
    expect(item).to_have_count(1)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    tasks = api.get("/api/tasks").json()["items"]
    assert [t["title"] for t in tasks] == ["Buy milk"]
    task_id = tasks[0]["id"]
    expect(item).to_have_attribute("data-task-id", task_id)

    # (3) Complete it from the panel's checkbox: the server has it completed.
    with page.expect_response(
        lambda r: r.url.endswith(f"/api/tasks/{task_id}/complete") and r.request.method == "POST"
    ) as done:
        item.get_by_test_id("task-complete").check()
    assert done.value.ok
    saved = api.get(f"/api/tasks/{task_id}").json()
    assert saved["completed"] is True
    assert saved["completed_at"]

    # The conversation shows up in the thread list, titled by its first message.
    threads = page.get_by_test_id("thread-item")
    expect(threads).to_have_count(1)
    expect(threads.first).to_contain_text("add a task to buy milk")

    # (4) Reload: the thread reopens with its messages; the task is still there, done.
    page.reload()
    wait_ready(page)
    assert page.evaluate("window.__sameDocument") is None
    expect(page.get_by_test_id("thread-item")).to_have_count(1)
    expect(page.get_by_test_id("message-user")).to_have_text("add a task to buy milk")
    expect(page.get_by_test_id("message-assistant")).to_have_text("Added Buy milk to your tasks.")
    page.get_by_test_id("filter-done").click()
    item = page.locator(f'[data-testid=task-item][data-task-id="{task_id}"]')
    expect(item.get_by_test_id("task-complete")).to_be_checked()
    assert not page.errors  # type: ignore[attr-defined]


def test_quota_error_is_readable_and_retry_recovers(
    ui: Browser, gemini: FakeGemini, gemini_key: str
) -> None:
    page = ui.open()
    wait_ready(page)
    gemini.push(
        Fail(
            429,
            "Resource has been exhausted (e.g. check quota).",
            "RESOURCE_EXHAUSTED",
        )  # no wait given: Retry at once (with a wait: tests/e2e/test_webui_first_minutes.py)
    )
    send(page, "what is due today?")

    error = page.get_by_test_id("chat-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile("quota", re.I))
    text = error.inner_text()
    # Readable: no raw JSON, status names or stack traces.
    for raw in ("{", "RESOURCE_EXHAUSTED", "Traceback", "429"):
        assert raw not in text, text
    retry = page.get_by_test_id("retry-button")
    expect(retry).to_be_visible()
    expect(page.get_by_test_id("message-user")).to_have_text("what is due today?")

    # Gemini recovers; retry answers the same message once.
    gemini.push(Text(["Nothing is ", "due today."]))
    asked = len(gemini.requests)
    retry.click()
    expect(page.get_by_test_id("message-assistant")).to_have_text("Nothing is due today.")
    expect(error).to_have_count(0)
    expect(page.get_by_test_id("message-user")).to_have_count(1)
    assert len(gemini.requests) == asked + 1
    last_user = [m for m in gemini.requests[-1].messages if m["role"] == "user"]
    assert "what is due today?" in str(last_user[-1]["content"])
    assert not page.errors  # type: ignore[attr-defined]


def test_typing_the_first_message_prepares_the_chat_turn(
    ui: Browser, gemini: FakeGemini, gemini_key: str
) -> None:
    """The first keystroke asks the server to rehearse a turn (app/chat/rehearsal.py);
    the rehearsal sends Gemini nothing, and the real turn after it answers as usual."""
    page = ui.open("/")
    wait_ready(page, "builtin")
    box = page.get_by_test_id("chat-input")
    prepares: list[str] = []
    page.on(
        "request", lambda r: prepares.append(r.method) if "/api/chat/prepare" in r.url else None
    )
    with page.expect_response(re.compile(r"/api/chat/prepare$")) as answer:
        box.press_sequentially("hel")
    assert answer.value.status == 202
    box.press_sequentially("lo there")
    assert prepares == ["POST"]  # once, not per keystroke
    gemini.push(Text(["Hello!"]))
    page.get_by_test_id("send-button").click()
    expect(page.get_by_test_id("message-assistant")).to_have_text("Hello!")
    # The turn's own request; nothing from the rehearsal (whose connection opened ahead
    # lists models at most: tests/test_chat_rehearsal.py).
    assert [r.path.rsplit("/", 1)[-1] for r in gemini.requests] == ["completions"]
    assert not page.errors  # type: ignore[attr-defined]
