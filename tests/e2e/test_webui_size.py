"""The JavaScript a window needs for the built-in chat view stays small (gzipped), and the
page really loads only that: ChatKit's bindings are a lazy chunk, its script is the CDN's."""

from __future__ import annotations

import pytest

from benchmarks.bench_webui_size import DIST, TARGET_KB, initial_gzipped_kb, measure
from tests.e2e.conftest import Browser, wait_ready

needs_build = pytest.mark.skipif(
    not (DIST / "index.html").is_file(), reason="web UI not built (cd webui && npm run build)"
)


@needs_build
def test_initial_js_gzipped_is_within_budget() -> None:
    chunks = measure()
    initial = [c for c in chunks if c.initial]
    assert initial, "index.html loads no JS?"
    size = initial_gzipped_kb(chunks)
    assert size <= TARGET_KB, f"{size:.1f} KB gzipped > {TARGET_KB} KB: {initial}"
    # The ChatKit bindings are not part of it.
    assert not [c for c in initial if c.name.startswith("ChatKitView")]


@needs_build
@pytest.mark.e2e
def test_builtin_view_loads_only_the_initial_chunks(ui: Browser, gemini_key: str) -> None:
    from playwright.sync_api import expect

    page = ui.open("/")  # the CDN is unreachable: the fallback decides the view
    wait_ready(page, "builtin")
    expect(page.get_by_test_id("chat-input")).to_be_visible()
    loaded = page.evaluate(
        """performance.getEntriesByType('resource').map((e) => e.name)
             .filter((u) => u.endsWith('.js'))"""
    )
    local = sorted(u.rsplit("/", 1)[1] for u in loaded if u.startswith(ui.server.url))
    assert local == sorted(c.name for c in measure() if c.initial)
