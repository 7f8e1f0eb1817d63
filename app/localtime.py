"""The person's time zone: settings.timezone, else TZ, else the OS zone."""

from __future__ import annotations

import os
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.config import Settings


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_zone(settings: Settings) -> tuple[tzinfo, str]:
    """The zone "today" and "tomorrow" mean, and its name."""
    return zone_named(settings.timezone)


def zone_named(zone_name: str = "") -> tuple[tzinfo, str]:
    """The configured IANA zone, else $TZ, else the OS zone; and its name."""
    for candidate in (zone_name, os.environ.get("TZ", "").lstrip(":")):
        zone = _zone(candidate)
        if zone is not None:
            return zone, candidate
    # /etc/localtime is a symlink into the zoneinfo tree on Linux and macOS.
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            zone = _zone(name)
            if zone is not None:
                return zone, name
    except OSError:
        pass
    here = datetime.now().astimezone().tzinfo
    assert here is not None
    return here, datetime.now(here).strftime("UTC%z")
