"""The local profile: this install's user id, created once and kept in the data folder."""

from __future__ import annotations

import json
import uuid

from app.config import Settings
from app.fileio import write_private_json

PROFILE_FILE = "profile.json"
# Whether the keyring holds a sync URL (app/sync/settings.py reads and updates it).
SYNC_STATE_FILE = "sync.json"


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
    write_private_json(path, {"user_id": user_id, "device_id": str(uuid.uuid4())})
    # A new profile: the keyring holds no sync URL under its fresh ids, so no start needs
    # to ask it until `sync --set-url` (see app/sync/settings.py).
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
    write_private_json(path, data)


def previous_user_ids(settings: Settings) -> list[str]:
    try:
        data = json.loads((settings.data_dir / PROFILE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    ids = data.get("previous_user_ids") if isinstance(data, dict) else None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def remember_url_in_keyring(settings: Settings, url_in_keyring: bool) -> None:
    """Write sync.json; here rather than in app/sync so the profile needs nothing above it."""
    path = settings.data_dir / SYNC_STATE_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private_json(path, {"url_in_keyring": url_in_keyring})
    except OSError:
        pass  # only a shortcut is lost: the keyring is asked again
