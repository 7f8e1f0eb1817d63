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


def remember_url_in_keyring(settings: Settings, url_in_keyring: bool) -> None:
    """Write sync.json; here rather than in app/sync so the profile needs nothing above it."""
    path = settings.data_dir / SYNC_STATE_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private_json(path, {"url_in_keyring": url_in_keyring})
    except OSError:
        pass  # only a shortcut is lost: the keyring is asked again
