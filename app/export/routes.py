"""GET /api/export (a zip download) and POST /api/import (a zip or export.json body)."""

from __future__ import annotations

from datetime import datetime

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


@router.post("/api/import")
async def import_file(request: Request, session: SessionDep, user_id: CurrentUser) -> dict:
    data = service.load_payload(await request.body())
    report = await service.import_data(session, user_id=user_id, data=data)
    return report.as_dict()
