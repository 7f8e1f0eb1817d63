"""Serves the built React UI (webui/dist) at `/`, or a page that says how to build it."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.config import Settings

_MISSING_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>TaskChat</title></head><body style="font-family:system-ui;max-width:40rem;margin:4rem auto">
<h1>TaskChat is running</h1><p>The web UI has not been built yet. From the project folder run
<code>make webui</code> (or <code>cd webui &amp;&amp; npm ci &amp;&amp; npm run build</code>)
and reload this page. The API is available at <code>/api/docs</code>.</p></body></html>"""


def find_webui_dir(settings: Settings) -> Path | None:
    candidates = []
    if settings.webui_dir:
        candidates.append(settings.webui_dir)
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller unpack folder
    if bundle:
        candidates.append(Path(bundle) / "webui" / "dist")
    candidates.append(Path(__file__).resolve().parent.parent / "webui" / "dist")
    for path in candidates:
        if (path / "index.html").is_file():
            return path
    return None


def mount_webui(app: FastAPI, settings: Settings) -> None:
    dist = find_webui_dir(settings)
    if dist is None:

        @app.get("/", include_in_schema=False)
        async def _missing() -> HTMLResponse:
            return HTMLResponse(_MISSING_PAGE)

        return

    index = dist / "index.html"
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")

    @app.get("/", include_in_schema=False)
    async def _index() -> FileResponse:
        # The shell must never be cached: a new build must show up on the next launch.
        return FileResponse(index, headers={"Cache-Control": "no-store"})

    @app.get("/{name}", include_in_schema=False)
    async def _top_level_file(name: str) -> FileResponse:
        path = (dist / name).resolve()
        if path.parent == dist.resolve() and path.is_file():
            return FileResponse(path)
        return FileResponse(index, headers={"Cache-Control": "no-store"})
