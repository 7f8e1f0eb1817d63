"""Pairing two devices in real Chromium: A starts a sync space in Settings → Sync, B joins
with the URL and the code (a wrong code first), tasks made on each show on the other,
and the tasks B had before joining stay."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from app.config import Settings
from app.server import build_server
from app.sync.crypto import format_code, new_sync_key
from tests.conftest import LiveServer
from tests.e2e.conftest import Browser, wait_ready

pytestmark = pytest.mark.postgres


@contextmanager
def device(root: Path, name: str) -> Iterator[LiveServer]:
    settings = Settings(data_dir=root / name, database_url=None)
    ready = threading.Event()
    server, sock, app = build_server(
        settings, host="127.0.0.1", port=0, on_ready=lambda _a, _p: ready.set()
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    if not ready.wait(15):
        raise RuntimeError(f"device {name} did not start")
    try:
        yield LiveServer(app=app, host="127.0.0.1", port=sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def open_sync_settings(page: Any) -> Any:
    wait_ready(page)
    page.get_by_test_id("settings-button").click()
    section = page.get_by_test_id("settings-dialog").get_by_test_id("sync-section")
    expect(section).to_be_visible()
    return section


def add_task(page: Any, title: str) -> None:
    page.get_by_test_id("task-add-input").fill(title)
    page.get_by_test_id("task-add-button").click()
    expect(page.get_by_test_id("task-title").filter(has_text=title)).to_have_count(1)


def titles(server: LiveServer) -> set[str]:
    with httpx.Client(base_url=server.url, headers=server.headers(), timeout=10) as c:
        r = c.get("/api/tasks", params={"limit": 200})
        r.raise_for_status()
        return {t["title"] for t in r.json()["items"]}


def test_start_join_and_tasks_flow_both_ways(
    browser: Any, gemini_key: str, tmp_path: Path, pg_database: str
) -> None:
    with device(tmp_path, "a") as server_a, device(tmp_path, "b") as server_b:
        ui_a, ui_b = Browser(browser, server_a), Browser(browser, server_b)
        try:
            page_a = ui_a.open()
            page_b = ui_b.open()
            wait_ready(page_b)
            add_task(page_b, "B had this before joining")

            # Device A starts a space.
            sync_a = open_sync_settings(page_a)
            expect(sync_a.get_by_test_id("sync-status")).to_have_text("Sync: off")
            sync_a.get_by_test_id("sync-url-input").fill(pg_database)
            sync_a.get_by_test_id("sync-check").click()
            expect(sync_a.get_by_test_id("sync-note")).to_contain_text("Connected to")
            sync_a.get_by_test_id("sync-name-input").fill("Desktop")
            sync_a.get_by_test_id("sync-start").click()
            # Tests have no keyring: the UI explains and offers the file.
            expect(sync_a.get_by_test_id("sync-error")).to_contain_text("NOT saved")
            sync_a.get_by_test_id("sync-plaintext-checkbox").check()
            sync_a.get_by_test_id("sync-start").click()
            code_el = sync_a.get_by_test_id("sync-code")
            expect(code_el).to_be_visible()
            code = code_el.inner_text().strip()
            expect(sync_a.get_by_test_id("sync-qr")).to_be_visible()
            assert len(code) == 39, code
            expect(sync_a.get_by_test_id("sync-status")).to_contain_text("end-to-end encrypted")

            # Device B: a wrong code is refused, the right one joins.
            sync_b = open_sync_settings(page_b)
            sync_b.get_by_test_id("sync-mode-join").check()
            sync_b.get_by_test_id("sync-url-input").fill(pg_database)
            sync_b.get_by_test_id("sync-code-input").fill(format_code(new_sync_key()))
            sync_b.get_by_test_id("sync-name-input").fill("Laptop")
            sync_b.get_by_test_id("sync-join").click()
            expect(sync_b.get_by_test_id("sync-error")).to_be_visible()
            if sync_b.get_by_test_id("sync-plaintext-checkbox").count():
                sync_b.get_by_test_id("sync-plaintext-checkbox").check()
                sync_b.get_by_test_id("sync-join").click()
            expect(sync_b.get_by_test_id("sync-error")).to_contain_text("No sync space")
            expect(sync_b.get_by_test_id("sync-status")).to_have_text("Sync: off")
            sync_b.get_by_test_id("sync-code-input").fill(code.lower())
            sync_b.get_by_test_id("sync-join").click()
            expect(sync_b.get_by_test_id("sync-note")).to_contain_text("were kept")
            expect(sync_b.get_by_test_id("sync-devices")).to_contain_text("Desktop")
            expect(sync_b.get_by_test_id("sync-devices")).to_contain_text("Laptop (this device)")

            # A task made on each device shows on the other; B keeps its earlier task.
            page_b.get_by_test_id("settings-close").click()
            add_task(page_b, "Made on B")
            page_a.get_by_test_id("settings-close").click()
            add_task(page_a, "Made on A")
            for page in (page_b, page_a, page_b):
                page.get_by_test_id("settings-button").click()
                page.get_by_test_id("sync-now").click()
                expect(page.get_by_test_id("sync-note")).to_have_text("Sync finished.")
                page.get_by_test_id("settings-close").click()
            for page in (page_a, page_b):
                page.reload()
                wait_ready(page)
                for title in ("Made on A", "Made on B", "B had this before joining"):
                    expect(page.get_by_test_id("task-title").filter(has_text=title)).to_have_count(
                        1
                    )
                # One Inbox: B's own became the space's, with its task in it.
                picker = page.get_by_test_id("filter-list")
                expect(picker.locator("option")).to_have_text(["All lists", "Inbox"])
            assert titles(server_a) == titles(server_b)
            assert not page_a.errors and not page_b.errors  # type: ignore[attr-defined]
        finally:
            ui_a.close()
            ui_b.close()
