"""GET /api/export (a zip download), POST /api/import (a zip or export.json body) and
GET /api/import/status (the running import's progress, for the UI to poll)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import CurrentUser, SessionDep
from app.export import service

router = APIRouter(tags=["export"])


@router.get("/api/export")
async def export_zip(request: Request, session: SessionDep, user_id: CurrentUser) -> Response:
    data = await service.export_data(
        session, user_id=user_id, secrets=service.known_secrets(request.app.state.settings)
    )
    name = f"taskchat-export-{datetime.now().strftime('%Y%m%d-%H%M%S')}.zip"
    return Response(
        service.zip_bytes(data),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/api/export.ics")
async def export_calendar(request: Request, session: SessionDep, user_id: CurrentUser) -> Response:
    """Tasks as iCalendar VTODOs (DUE, RRULE, VALARM) for a calendar app."""
    # Here, not at the top: icalendar (80 modules, ~20 ms) would load at every start.
    from app.export import ics

    body = await ics.export_ics(
        session, user_id=user_id, secrets=service.known_secrets(request.app.state.settings)
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="taskchat.ics"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/api/import")
async def import_file(request: Request, session: SessionDep, user_id: CurrentUser) -> dict:
    progress = service.status_progress(user_id)
    progress("read", 0, 0)
    try:
        # Inflating and parsing take seconds for a large export: not on the event loop.
        data = await asyncio.to_thread(service.load_payload, await request.body())
        report = await service.import_data(session, user_id=user_id, data=data, progress=progress)
    except BaseException as exc:
        service.finish_status(user_id, None, getattr(exc, "message", "The import failed."))
        raise
    result = report.as_dict()
    service.finish_status(user_id, result, None)
    return result


@router.get("/api/import/status")
async def import_status(user_id: CurrentUser) -> dict[str, Any]:
    """{"running", "stage", "done", "total"} and, once finished, "result" or "error"."""
    return service.import_status(user_id)
