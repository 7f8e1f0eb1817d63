"""Screenshots of the UI with realistic content, light and dark, wide and narrow, for people
to look at (artifacts/screenshots/, not compared automatically). Also checks the layout
mechanically: nothing overflows the window sideways and the composer stays on screen."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NARROW, SCREENSHOT_DIR, WIDE, Browser, wait_ready
from tests.fakes.gemini import Fail, FakeGemini, Text, ToolCalls

pytestmark = pytest.mark.e2e

REPLY = [
    "Done — I added **Buy milk** to your tasks. ",
    "Here is what is open today:\n\n",
    "1. **Call the dentist** — high priority, due today\n",
    "2. **Buy milk**\n\n",
    "Want me to set a reminder time for the dentist?",
]


def seed_tasks(api: httpx.Client) -> None:
    today = dt.date.today()
    for body in (
        {
            "title": "Call the dentist",
            "priority": "high",
            "due": today.isoformat(),
            "tags": ["health"],
        },
        {
            "title": "Renew passport",
            "priority": "medium",
            "due": (today - dt.timedelta(days=2)).isoformat(),
            "tags": ["admin", "travel"],
            "description": "Photos are in the top drawer; form DS-82.",
        },
        {
            "title": "Prepare the quarterly planning slides for Thursday's all-hands meeting "
            "with the whole product organisation",
            "priority": "low",
            "due": (today + dt.timedelta(days=3)).isoformat(),
            "tags": ["work"],
        },
        {"title": "Water the plants", "tags": ["home"]},
        {"title": "https://example.com/a/really/long/link/without/any/spaces/to/wrap/at/all"},
        {"title": "Pay the electricity bill", "completed": True},
    ):
        r = api.post("/api/tasks", json=body)
        assert r.status_code == 201, r.text


def shoot(page: Page, name: str) -> None:
    check_layout(page)
    check_contrast(page)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), animations="disabled")


# Text whose contrast with what is behind it is below WCAG AA (4.5:1; 3:1 for large text),
# placeholders included. Backgrounds are resolved through translucent ancestors.
LOW_CONTRAST = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const lum = ([r, g, b]) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const blend = (t, b) => [0, 1, 2].map((i) => t[i] * t[3] + b[i] * (1 - t[3])).concat(1);
  const bgOf = (el) => {
    const stack = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { stack.push(c); if (c[3] >= 1) break; }
    }
    let bg = stack.length && stack[stack.length - 1][3] >= 1 ? stack.pop() : [255, 255, 255, 1];
    while (stack.length) bg = blend(stack.pop(), bg);
    return bg;
  };
  const ratio = (fg, bg) => {
    const [a, b] = [lum(fg[3] < 1 ? blend(fg, bg) : fg), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && cs.visibility !== 'hidden' && +cs.opacity > 0 &&
      r.bottom > 0 && r.top < innerHeight && !el.closest(':disabled, .sr-only');
  };
  const bad = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || seen.has(el) || !n.textContent.trim() || !shown(el)) continue;
    seen.add(el);
    const cs = getComputedStyle(el);
    const size = parseFloat(cs.fontSize);
    const large = size >= 24 || (+cs.fontWeight >= 700 && size >= 18.66);
    const r = ratio(parse(cs.color), bgOf(el));
    const what = `${el.className || el.tagName} "${n.textContent.trim().slice(0, 40)}"`;
    if (r < (large ? 3 : 4.5)) bad.push(`${r.toFixed(2)}:1 ${what}`);
  }
  for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
    if (!shown(el)) continue;
    const r = ratio(parse(getComputedStyle(el, '::placeholder').color), bgOf(el));
    if (r < 4.5) bad.push(`${r.toFixed(2)}:1 placeholder "${el.placeholder}"`);
  }
  return bad;
}
"""


def check_contrast(page: Page) -> None:
    assert page.evaluate(LOW_CONTRAST) == []


def check_layout(page: Page) -> None:
    """No sideways scrolling of the page, and the page itself never scrolls (panes do)."""
    sizes = page.evaluate(
        """() => ({
          sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth,
          sh: document.documentElement.scrollHeight, ch: document.documentElement.clientHeight,
        })"""
    )
    assert sizes["sw"] <= sizes["cw"], sizes
    assert sizes["sh"] <= sizes["ch"], sizes


def test_screenshots(ui: Browser, gemini: FakeGemini, gemini_key: str, api: httpx.Client) -> None:
    seed_tasks(api)
    gemini.push(ToolCalls([("create_task", {"title": "Buy milk"})]), Text(REPLY))

    page = ui.open()
    wait_ready(page)
    page.get_by_test_id("chat-input").fill("add a task to buy milk")
    page.get_by_test_id("send-button").click()
    expect(page.get_by_test_id("message-assistant")).to_contain_text("reminder time")
    expect(page.get_by_test_id("task-item").filter(has_text="Buy milk")).to_have_count(1)

    for scheme in ("light", "dark"):
        page = ui.open(viewport=WIDE, color_scheme=scheme)
        wait_ready(page)
        page.get_by_test_id("thread-item").first.get_by_role("button").first.click()
        expect(page.get_by_test_id("message-assistant")).to_contain_text("reminder time")
        expect(page.get_by_test_id("task-item")).to_have_count(6)
        # Hovering a task shows its actions over the end of the row.
        dentist = page.get_by_test_id("task-item").filter(has_text="Call the dentist")
        dentist.hover()
        expect(dentist.get_by_test_id("task-delete")).to_be_visible()
        shoot(page, f"{scheme}-wide-chat")
        page.get_by_test_id("settings-button").click()
        expect(page.get_by_test_id("gemini-key-status")).to_contain_text("ends with")
        shoot(page, f"{scheme}-wide-settings")

        page = ui.open(viewport=NARROW, color_scheme=scheme)
        wait_ready(page)
        page.get_by_role("button", name="Show conversations").click()
        page.get_by_test_id("thread-item").first.get_by_role("button").first.click()
        expect(page.get_by_test_id("message-assistant")).to_contain_text("reminder time")
        composer = page.get_by_test_id("chat-input")
        expect(composer).to_be_in_viewport()
        shoot(page, f"{scheme}-narrow-chat")
        page.get_by_role("button", name="Show conversations").click()
        expect(page.get_by_test_id("thread-item").first).to_be_in_viewport()
        shoot(page, f"{scheme}-narrow-threads")
        page.keyboard.press("Escape")
        page.get_by_test_id("tab-tasks").click()
        expect(page.get_by_test_id("task-panel")).to_be_in_viewport()
        shoot(page, f"{scheme}-narrow-tasks")
        page.get_by_test_id("settings-button").click()
        expect(page.get_by_test_id("gemini-key-status")).to_contain_text("ends with")
        expect(page.get_by_test_id("settings-close")).to_be_in_viewport()
        shoot(page, f"{scheme}-narrow-settings")

    # An error state, narrow: the longest message and its buttons must fit.
    gemini.push(Fail(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED"))
    page = ui.open(viewport=NARROW, color_scheme="light")
    wait_ready(page)
    page.get_by_test_id("chat-input").fill("and what about tomorrow?")
    page.get_by_test_id("send-button").click()
    expect(page.get_by_test_id("retry-button")).to_be_in_viewport()
    shoot(page, "light-narrow-error")
    assert_no_errors(ui)


def assert_no_errors(ui: Browser) -> None:
    for context in ui.contexts:
        for page in context.pages:
            assert not page.errors, page.errors  # type: ignore[attr-defined]
