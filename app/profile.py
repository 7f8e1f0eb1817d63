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
