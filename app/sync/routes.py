"""GET /api/sync/status and POST /api/sync/run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.api.deps import CurrentUser
from app.errors import Conflict

router = APIRouter(prefix="/api/sync", tags=["sync"])


def _off(request: Request) -> dict[str, Any]:
    return {
        "enabled": False,
        "target": None,
        "running": False,
        "last_success": None,
        "last_attempt": None,
        "last_error": None,
        "pending_changes": 0,
        "last_round": {},
        "message": getattr(request.app.state, "sync_off_reason", None) or "Sync is off.",
    }


@router.get("/status")
async def sync_status(request: Request, _user: CurrentUser) -> dict[str, Any]:
    """Last success, pending local changes and the last error in plain words."""
    service = getattr(request.app.state, "sync", None)
    if service is None:
        return _off(request)
    return await service.get_status()


@router.post("/run")
async def sync_run(request: Request, _user: CurrentUser) -> dict[str, Any]:
    """Sync now; answers with the status afterwards (a failure is in `last_error`)."""
    service = getattr(request.app.state, "sync", None)
    if service is None:
        raise Conflict(_off(request)["message"])
    try:
        await service.run_once()
    except Exception:
        pass  # explained in the status
    return await service.get_status()
