"""The local profile: this install's user id, created once and kept in the data folder."""

from __future__ import annotations

import json
import os
import uuid

from app.config import Settings

PROFILE_FILE = "profile.json"


def local_user_id(settings: Settings) -> str:
    settings.ensure_data_dir()
    path = settings.data_dir / PROFILE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("user_id"), str):
            return data["user_id"]
    except (OSError, ValueError):
        pass
    user_id = str(uuid.uuid4())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"user_id": user_id, "device_id": str(uuid.uuid4())}, fh)
    # A new profile: the keyring holds no sync URL under its fresh ids, so no start needs
    # to ask it until `sync --set-url` (see app/sync/settings.py).
    from app.sync.settings import remember_url_in_keyring

    remember_url_in_keyring(settings, False)
    return user_id


def adopt_user_id(settings: Settings, user_id: str) -> None:
    """Make `user_id` this install's profile (joining a sync space); the device id stays,
    and the ids given up are remembered so sessions minted under them keep working."""
    path = settings.data_dir / PROFILE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    old = data.get("user_id")
    previous = [p for p in data.get("previous_user_ids", []) if isinstance(p, str)]
    if isinstance(old, str) and old != user_id and old not in previous:
        previous.append(old)
    data.update(user_id=user_id, previous_user_ids=[p for p in previous if p != user_id])
    if not data.get("device_id"):
        data["device_id"] = str(uuid.uuid4())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def previous_user_ids(settings: Settings) -> list[str]:
    try:
        data = json.loads((settings.data_dir / PROFILE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    ids = data.get("previous_user_ids") if isinstance(data, dict) else None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
