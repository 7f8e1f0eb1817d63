"""End-to-end fixtures: real headless Chromium (Debian's, driven by Playwright) against the
real server (`live_server`) and the fake Gemini.

Chromium comes from apt (`/usr/bin/chromium`, scripts/setup.sh --test); Playwright's own
browser download is never used. Without Chromium or the `playwright` package every test
here is skipped with a reason.

The browser resolves no host names except 127.0.0.1 (`--host-resolver-rules`), so the
ChatKit CDN is unreachable here just as it is on an offline machine, and the UI falls back
to its built-in chat view at once instead of after a timeout. The one ChatKit test stands
in for the CDN script with a Playwright route.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.server import launch_url
from tests.fakes.gemini import FakeGemini

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = ROOT / "artifacts" / "screenshots"
TEST_KEY = "AIzaE2E-test-key-not-real-4321"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Nothing but the local servers resolves: the CDN fails fast, as offline.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

try:
    import playwright  # noqa: F401
except ImportError:  # the dev extra is not installed: only the size test can run
    collect_ignore = [
        "test_webui_chat.py",
        "test_webui_chatkit.py",
        "test_webui_screenshots.py",
    ]

WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 360, "height": 740}


def chromium_path() -> str | None:
    found = os.environ.get("TASKCHAT_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    for name in ("chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module; every test gets its own context.

    Not per session: while Playwright's sync API is alive its event loop counts as running
    in this thread, and the async tests of other modules could not start theirs."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium not found (apt-get install chromium, or set TASKCHAT_CHROMIUM)")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(autouse=True)
def _expect_timeout(request: pytest.FixtureRequest) -> None:
    if "browser" in request.fixturenames:
        from playwright.sync_api import expect

        expect.set_options(timeout=10_000)


@pytest.fixture
def gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGemini]:
    """The fake Gemini; the app (created after this) talks to it. No key is set here."""
    fake = FakeGemini().start()
    monkeypatch.setenv("GEMINI_BASE_URL", fake.base_url)
    monkeypatch.setenv("TASKCHAT_MAX_RETRIES", "0")
    yield fake
    fake.stop()


@pytest.fixture
def gemini_key(gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GEMINI_API_KEY", TEST_KEY)
    return TEST_KEY


@pytest.fixture
def server(gemini: FakeGemini, request: pytest.FixtureRequest) -> Any:
    """The live server, created only after the fake Gemini (and maybe a key) is set up."""
    if "gemini_key" in request.fixturenames:
        request.getfixturevalue("gemini_key")
    return request.getfixturevalue("live_server")


@pytest.fixture
def api(server: Any) -> Iterator[httpx.Client]:
    """A REST client on the live server, signed in as the local user (for checking state)."""
    with httpx.Client(base_url=server.url, headers=server.headers(), timeout=10) as c:
        yield c


class Browser:
    """Opens pages signed in the way a person is: through the one-time launch URL."""

    def __init__(self, browser: Any, server: Any) -> None:
        self._browser = browser
        self.server = server
        self.contexts: list[Any] = []

    def open(
        self,
        path: str = "/?chat=builtin",
        *,
        viewport: dict[str, int] = WIDE,
        color_scheme: str = "light",
        route_cdn: str | None = None,
    ) -> Any:
        context = self._browser.new_context(
            viewport=viewport,
            color_scheme=color_scheme,
            locale="en-US",
            timezone_id="UTC",
            device_scale_factor=1,
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        if route_cdn is not None:
            context.route(
                "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js",
                lambda route: route.fulfill(
                    status=200, content_type="text/javascript", body=route_cdn
                ),
            )
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        url = launch_url(self.server.app, self.server.host, self.server.port)
        response = page.goto(url)
        assert response is not None and response.ok, "launch link refused"
        assert page.url == self.server.url + "/", page.url  # traded for the cookie
        if path != "/":
            page.goto(self.server.url + path)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def ui(browser: Any, server: Any) -> Iterator[Browser]:
    b = Browser(browser, server)
    yield b
    b.close()


def wait_ready(page: Any, mode: str = "builtin") -> None:
    """The first task list load is done and the chat view is decided."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("app-root")).to_have_attribute("data-ready", "true")
    expect(page.locator("body")).to_have_attribute("data-chat-mode", mode)
