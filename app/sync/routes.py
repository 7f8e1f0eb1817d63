"""/api/sync: status, run now, and setting up a sync space (check, start, join, leave,
devices)."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import CurrentUser
from app.errors import Conflict, NotFound
from app.sync import settings as sync_settings
from app.sync.runtime import build_sync_service

if TYPE_CHECKING:
    from types import ModuleType


def _spaces() -> ModuleType:
    """app.sync.spaces, imported on first use: it pulls in asyncpg and cryptography
    (~45 ms measured with -X importtime), which a start without sync never needs."""
    from app.sync import spaces

    return spaces


router = APIRouter(prefix="/api/sync", tags=["sync"])
_setup_lock = asyncio.Lock()


class CheckBody(BaseModel):
    url: str = Field(max_length=4096)


class SetupBody(BaseModel):
    url: str = Field(max_length=4096)
    code: str | None = Field(None, max_length=200)
    device_name: str | None = Field(None, max_length=200)
    allow_plaintext_file: bool = False


class SpaceOut(BaseModel):
    id: str
    role: str | None = None
    recovery_hint: str | None = None


class DeviceRef(BaseModel):
    id: str
    name: str


class QuarantinedRow(BaseModel):
    """A synced row set aside unread (it failed the encryption check)."""

    model_config = ConfigDict(extra="allow")  # plus when and why, as recorded
    entity: str
    id: str


class SyncStatusOut(BaseModel):
    """Sync on this device: last success, what waits, the last problem in plain words."""

    enabled: bool
    target: str | None = None
    running: bool = False
    last_success: str | None = None
    last_attempt: str | None = None
    last_error: str | None = None
    pending_changes: int = 0
    last_round: dict[str, int | float] = Field(default_factory=dict)
    message: str | None = None
    quarantined: int = 0
    problem: str | None = None
    encrypted: bool = False
    space: SpaceOut | None = None
    device: DeviceRef | None = None
    quarantine: list[QuarantinedRow] = Field(default_factory=list)


class SyncDeviceOut(BaseModel):
    id: str
    name: str
    last_seen: str
    removed: bool
    this_device: bool


class SyncDevicesOut(BaseModel):
    items: list[SyncDeviceOut]


class CheckOut(BaseModel):
    ok: bool
    target: str
    server_version: str
    message: str


class SetupOut(BaseModel):
    """A started space shows its pairing `code` (once) and its QR code; a joined one says
    how many rows of this device were kept."""

    role: str  # "started" | "joined"
    space_id: str
    recovery_hint: str
    target: str
    secrets: str  # "keyring" | "file"
    code: str | None = None
    qr: str | None = None
    kept: dict[str, int] = Field(default_factory=dict)
    upgraded_rows: int = 0
    status: SyncStatusOut


def _default_device_name() -> str:
    return (socket.gethostname() or "").strip() or "This device"


def _off(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    space = sync_settings.read_space(settings)
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
        "encrypted": False,
        "space": None if space is None else {"id": space["space_id"]},
        "device": {"id": sync_settings.device_id(settings), "name": _default_device_name()},
        "quarantined": 0,
        "quarantine": [],
    }


def _service(request: Request) -> Any:
    service = getattr(request.app.state, "sync", None)
    if service is None:
        raise Conflict(_off(request)["message"])
    return service


@router.get("/status", response_model=SyncStatusOut)
async def sync_status(request: Request, _user: CurrentUser) -> dict[str, Any]:
    """Last success, pending local changes and the last error in plain words."""
    service = getattr(request.app.state, "sync", None)
    if service is None:
        return _off(request)
    return await service.get_status()


@router.post("/run", response_model=SyncStatusOut)
async def sync_run(request: Request, _user: CurrentUser) -> dict[str, Any]:
    """Sync now; answers with the status afterwards (a failure is in `last_error`)."""
    service = _service(request)
    try:
        await service.run_once()
    except Exception:
        pass  # explained in the status
    return await service.get_status()


@router.post("/check", response_model=CheckOut)
async def sync_check(body: CheckBody, _user: CurrentUser) -> dict[str, Any]:
    """Connect to a sync database once and say whether it works (nothing is stored)."""
    return await _spaces().check_connection(url=body.url)


async def _restart(request: Request) -> None:
    """Replace the running sync service with one for the current settings."""
    app = request.app
    old = getattr(app.state, "sync", None)
    app.state.sync = None
    if old is not None:
        await old.stop()
    service, app.state.sync_off_reason = build_sync_service(
        app.state.settings, app.state.engine, app.state.local_user_id
    )
    app.state.sync = service
    if service is not None:
        await service.start()


@router.post("/setup", response_model=SetupOut)
async def sync_setup(request: Request, body: SetupBody, _user: CurrentUser) -> dict[str, Any]:
    """`{"url"}` starts a sync space and answers its pairing `code`; `{"url", "code"}`
    joins the space (a wrong code: 403, nothing written)."""
    app = request.app
    settings = app.state.settings
    async with _setup_lock:
        old = getattr(app.state, "sync", None)
        if old is not None:  # nothing of the old setup may run while this one writes
            app.state.sync = None
            await old.stop()
        try:
            common = {
                "settings": settings,
                "engine": app.state.engine,
                "url": body.url,
                "user_id": app.state.local_user_id,
                "device_id": sync_settings.device_id(settings),
                "device_name": body.device_name,
                "allow_plaintext_file": body.allow_plaintext_file,
            }
            if body.code is None:
                result = await _spaces().start_space(**common)
            else:
                result = await _spaces().join_space(code=body.code, **common)
            if result.user_id != app.state.local_user_id:
                sessions = app.state.sessions
                sessions.aliases[app.state.local_user_id] = result.user_id
                for alias, target in list(sessions.aliases.items()):
                    if target == app.state.local_user_id:
                        sessions.aliases[alias] = result.user_id
                sessions.default_user_id = result.user_id
                app.state.local_user_id = result.user_id
        finally:
            await _restart(request)
    answer = result.as_dict()
    answer.pop("user_id", None)
    answer["status"] = await app.state.sync.get_status() if app.state.sync else _off(request)
    return answer


@router.post("/leave", response_model=SyncStatusOut)
async def sync_leave(request: Request, _user: CurrentUser) -> dict[str, Any]:
    """Stop syncing on this device (its data stays here; the space and the others go on)."""
    app = request.app
    settings = app.state.settings
    async with _setup_lock:
        url, _source = sync_settings.load_sync_url(settings)
        await _spaces().leave_space(
            settings=settings, url=url, key_code=sync_settings.load_sync_key(settings)
        )
        await _restart(request)
    return await sync_status(request, _user)


def _space(request: Request) -> tuple[str, Any]:
    settings = request.app.state.settings
    url, _source = sync_settings.load_sync_url(settings)
    cipher = _spaces().cipher_for(settings)
    if not url or cipher is None:
        raise Conflict("This device is not in a sync space. Start or join one first.")
    return url, cipher


@router.get("/devices", response_model=SyncDevicesOut)
async def sync_devices(request: Request, _user: CurrentUser) -> dict[str, Any]:
    """The devices of this device's sync space: name, last seen, removed."""
    url, cipher = _space(request)
    this = sync_settings.device_id(request.app.state.settings)
    return {"items": await _spaces().devices(url=url, cipher=cipher, this_device=this)}


@router.delete("/devices/{device_id}", response_model=SyncDevicesOut)
async def sync_remove_device(
    request: Request, device_id: str, _user: CurrentUser
) -> dict[str, Any]:
    """Remove another device from the space: it stops syncing at its next round."""
    url, cipher = _space(request)
    if device_id == sync_settings.device_id(request.app.state.settings):
        raise Conflict("To stop syncing on this device, use “Stop syncing on this device”.")
    if not await _spaces().remove_device(url=url, cipher=cipher, device_id=device_id[:200]):
        raise NotFound("No device with that id is in this sync space.")
    this = sync_settings.device_id(request.app.state.settings)
    return {"items": await _spaces().devices(url=url, cipher=cipher, this_device=this)}
