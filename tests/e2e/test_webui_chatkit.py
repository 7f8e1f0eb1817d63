"""The ChatKit path, with a stand-in for OpenAI's CDN script.

`@openai/chatkit-react` renders `<openai-chatkit>`, calls `el.setOptions(options)` with
everything but the `on*` handlers, and turns the element's `chatkit.*` CustomEvents into
handler calls (`chatkit.effect` → `onEffect(detail)`, `chatkit.ready` → `onReady()` …).
The stand-in defines that element, records what it was given, and becomes ready.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from app.security.middleware import cookie_name
from tests.e2e.conftest import Browser, wait_ready

pytestmark = pytest.mark.e2e

CHATKIT_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"

STAND_IN = """
(() => {
  const record = (window.__chatkit = { options: [], listeners: [], el: null });
  class StandInChatKit extends HTMLElement {
    setOptions(options) {
      record.options.push(options);
      record.el = this;
    }
    addEventListener(type, listener, opts) {
      record.listeners.push(type);
      super.addEventListener(type, listener, opts);
      // Like the real component: ready once someone listens (never synchronously).
      if (type === 'chatkit.ready' && READY) {
        setTimeout(() => this.dispatchEvent(new CustomEvent('chatkit.ready')), 0);
      }
      if (type === 'chatkit.error' && !READY) {
        setTimeout(() => this.dispatchEvent(new CustomEvent('chatkit.error', {
          detail: { error: new Error('stand-in: domain not allowed') } })), 0);
      }
    }
  }
  customElements.define('openai-chatkit', StandInChatKit);
})();
"""


def stand_in(ready: bool = True) -> str:
    return STAND_IN.replace("READY", "true" if ready else "false")


def test_chatkit_gets_the_app_options(
    ui: Browser, server: Any, api: httpx.Client, gemini_key: str
) -> None:
    page = ui.open("/", route_cdn=stand_in())
    wait_ready(page, "chatkit")
    expect(page.get_by_test_id("chatkit-view").locator("openai-chatkit")).to_be_attached()
    expect(page.get_by_test_id("builtin-chat")).to_have_count(0)
    page.wait_for_function("window.__chatkit.listeners.includes('chatkit.effect')")

    options = page.evaluate(
        """() => {
          const o = window.__chatkit.options.at(-1);
          return {
            url: o.api.url, domainKey: o.api.domainKey, fetch: typeof o.api.fetch,
            keys: Object.keys(o), scheme: o.theme && o.theme.colorScheme,
            history: o.history,
          };
        }"""
    )
    assert options["url"] == "/api/chatkit"
    assert isinstance(options["domainKey"], str) and options["domainKey"]
    assert options["fetch"] == "function"
    assert options["scheme"] == "light"
    assert options["history"]["enabled"] is True
    # Handlers are wired as events, not passed as options.
    assert not [k for k in options["keys"] if k.startswith("on")], options["keys"]
    listeners = page.evaluate("window.__chatkit.listeners")
    for event in ("chatkit.effect", "chatkit.error", "chatkit.ready", "chatkit.response.end"):
        assert event in listeners

    # The fetch the app hands to ChatKit reaches the server with the session cookie, even
    # when ChatKit asks for no credentials.
    with page.expect_request(lambda r: r.url == server.url + "/api/chatkit") as sent:
        answer = page.evaluate(
            """async () => {
              const f = window.__chatkit.options.at(-1).api.fetch;
              const r = await f('/api/chatkit', {
                method: 'POST', credentials: 'omit',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ type: 'threads.list', params: { limit: 5 } }),
              });
              return { status: r.status, body: await r.json() };
            }"""
        )
    assert answer["status"] == 200, answer
    assert answer["body"]["data"] == []
    cookie = sent.value.all_headers().get("cookie", "")
    assert f"{cookie_name(server.port)}=" in cookie, cookie
    # Without the cookie the same request is refused, so the 200 above is the cookie's doing.
    refused = page.evaluate(
        """async () => (await fetch('/api/chatkit', {
              method: 'POST', credentials: 'omit',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ type: 'threads.list', params: { limit: 5 } }),
            })).status"""
    )
    assert refused == 401

    # A tool changed tasks behind the panel's back; the effect makes the panel refetch.
    task = api.post("/api/tasks", json={"title": "Water the plants"}).json()
    panel_item = page.locator(f'[data-testid=task-item][data-task-id="{task["id"]}"]')
    with page.expect_request(lambda r: "/api/tasks" in r.url and r.method == "GET"):
        page.evaluate(
            """window.__chatkit.el.dispatchEvent(new CustomEvent('chatkit.effect',
                 { detail: { name: 'tasks_changed', data: {} } }))"""
        )
    expect(panel_item).to_contain_text("Water the plants")
    # An error after ready does not swap the view: ChatKit shows its own error UI. (The
    # effect that follows is a round trip through React, so a fallback would have landed.)
    with page.expect_request(lambda r: "/api/tasks" in r.url and r.method == "GET"):
        page.evaluate(
            """() => {
              const el = window.__chatkit.el;
              el.dispatchEvent(new CustomEvent('chatkit.error',
                { detail: { error: new Error('a later hiccup') } }));
              el.dispatchEvent(new CustomEvent('chatkit.effect',
                { detail: { name: 'tasks_changed' } }));
            }"""
        )
    expect(page.get_by_test_id("app-root")).to_have_attribute("data-ready", "true")
    assert page.evaluate("document.body.dataset.chatMode") == "chatkit"
    expect(page.get_by_test_id("chatkit-view")).to_be_attached()
    assert not page.errors  # type: ignore[attr-defined]


def test_chatkit_error_before_ready_falls_back_to_builtin(ui: Browser, gemini_key: str) -> None:
    page = ui.open("/", route_cdn=stand_in(ready=False))
    wait_ready(page, "builtin")
    expect(page.get_by_test_id("builtin-chat")).to_be_visible()
    expect(page.get_by_test_id("chatkit-view")).to_have_count(0)
    assert not page.errors  # type: ignore[attr-defined]
