"""Update notice: at most once a day, ask a release feed whether a newer TaskChat exists.

TaskChat never downloads or installs anything itself: it only learns the newest version, its
link and its release notes, which `GET /api/updates` hands to the UI. The feed is GitHub's
latest-release API of the project's repository unless TASKCHAT_UPDATE_URL names another URL
answering the same JSON (`tag_name`, `html_url`, `body`, `name`, `published_at`).

Off when TASKCHAT_UPDATE_CHECK is 0/false/off/no, or when the person turned it off
(`PUT /api/updates {"enabled": false}`, kept in updates.json in the data folder). Offline, a
bad answer or a slow feed mean silence and one log line. The check runs in a background task
a few seconds after the server started, so it never delays the start; its result (and the
time it was asked) is kept in updates.json, so restarts within a day do not ask again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from packaging.version import InvalidVersion, Version

from app import __version__
from app.config import Settings

log = logging.getLogger(__name__)

PROJECT_REPOSITORY = "taskchat/taskchat"
DEFAULT_FEED_URL = f"https://api.github.com/repos/{PROJECT_REPOSITORY}/releases/latest"
STATE_FILE_NAME = "updates.json"
CHECK_INTERVAL = timedelta(days=1)
FEED_TIMEOUT_S = 10.0
FIRST_CHECK_DELAY_S = 5.0
MAX_FEED_BYTES = 1_000_000
MAX_NOTES_CHARS = 20_000
_OFF = ("0", "false", "off", "no")


@dataclass(frozen=True)
class Release:
    version: str
    url: str
    notes: str
    name: str
    published_at: str | None


class FeedError(Exception):
    """The feed answered something that is not a usable release."""


def feed_url() -> str:
    return os.environ.get("TASKCHAT_UPDATE_URL") or DEFAULT_FEED_URL


def env_allows() -> bool:
    return os.environ.get("TASKCHAT_UPDATE_CHECK", "1").strip().lower() not in _OFF


def _state_path(settings: Settings) -> Path:
    return settings.data_dir / STATE_FILE_NAME


def read_state(settings: Settings) -> dict[str, Any]:
    try:
        data = json.loads(_state_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(settings: Settings, **changes: Any) -> dict[str, Any]:
    """Merge `changes` into updates.json (atomically, 0600)."""
    state = read_state(settings) | changes
    settings.ensure_data_dir()
    path = _state_path(settings)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=2)
    os.replace(tmp, path)
    return state


def person_allows(settings: Settings) -> bool:
    return read_state(settings).get("enabled", True) is not False


def enabled(settings: Settings) -> bool:
    return env_allows() and person_allows(settings)


def parse_release(data: Any) -> Release:
    """A GitHub release object -> Release; FeedError for anything unusable."""
    if not isinstance(data, dict):
        raise FeedError("the answer is not a JSON object")
    if data.get("draft") or data.get("prerelease"):
        raise FeedError("the latest release is a draft or a pre-release")
    tag = data.get("tag_name")
    url = data.get("html_url")
    if not isinstance(tag, str) or not isinstance(url, str):
        raise FeedError("tag_name or html_url is missing")
    try:
        version = Version(tag.strip().removeprefix("v").removeprefix("V"))
    except InvalidVersion as exc:
        raise FeedError(f"{tag[:40]!r} is not a version") from exc
    link = urlsplit(url)
    if link.scheme != "https" or not link.netloc:
        raise FeedError("the release link is not an https URL")
    notes = data.get("body")
    name = data.get("name")
    published = data.get("published_at")
    return Release(
        version=str(version),
        url=url,
        notes=notes[:MAX_NOTES_CHARS] if isinstance(notes, str) else "",
        name=name[:200] if isinstance(name, str) and name.strip() else f"TaskChat {version}",
        published_at=published if isinstance(published, str) else None,
    )


def is_newer(release: Release, current: str = __version__) -> bool:
    return Version(release.version) > Version(current)


async def fetch_latest(url: str) -> Release:
    # Imported here: httpx2 is ~26 ms of the server's start (measured with -X importtime),
    # and the check runs seconds later, in the background.
    import httpx2

    limit = FEED_TIMEOUT_S
    headers = {
        "Accept": "application/vnd.github+json",
        "User-Agent": f"TaskChat/{__version__} (update check)",
    }
    try:
        async with httpx2.AsyncClient(timeout=limit, follow_redirects=True) as http:
            # The whole exchange, not each read, is bounded: a trickling feed is slow too.
            async with asyncio.timeout(limit):
                response = await http.get(url, headers=headers)
    except TimeoutError as exc:
        raise FeedError(f"no answer within {limit:g} s") from exc
    except httpx2.HTTPError as exc:
        raise FeedError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc
    if response.status_code != 200:
        raise FeedError(f"HTTP {response.status_code}")
    if len(response.content) > MAX_FEED_BYTES:
        raise FeedError("the answer is too large")
    try:
        data = response.json()
    except ValueError as exc:
        raise FeedError("the answer is not JSON") from exc
    return parse_release(data)


class UpdateChecker:
    """The background check and its latest result (app.state.updates)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if not env_allows():
            log.info("update check: off (TASKCHAT_UPDATE_CHECK)")
            return
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="update-check")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        try:
            delay = float(os.environ.get("TASKCHAT_UPDATE_DELAY", FIRST_CHECK_DELAY_S))
        except ValueError:
            delay = FIRST_CHECK_DELAY_S
        await asyncio.sleep(delay)
        while True:
            try:
                await self.check_if_due()
            except Exception:  # e.g. updates.json not writable: the app carries on
                log.exception("update check: failed")
            await asyncio.sleep(CHECK_INTERVAL.total_seconds())

    def _due(self, now: datetime) -> bool:
        raw = read_state(self.settings).get("checked_at")
        try:
            last = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            last = None
        if last is None or last.tzinfo is None:  # never asked, or a hand-edited stamp
            return True
        return not (now - CHECK_INTERVAL < last <= now)

    async def check_if_due(self) -> None:
        """Ask the feed unless it is off or was asked less than a day ago."""
        if not enabled(self.settings):
            log.info("update check: off")
            return
        now = datetime.now(UTC)
        if not self._due(now):
            return
        url = feed_url()
        try:
            release = await fetch_latest(url)
        except (FeedError, OSError) as exc:
            why = str(exc) or type(exc).__name__
            log.info("update check: no answer from the release feed (%s)", why)
            # Asked, even without an answer: a day passes before the next try.
            write_state(self.settings, checked_at=now.isoformat())
            return
        newer = is_newer(release)
        log.info(
            "update check: latest release %s (%s)",
            release.version,
            "newer than this one" if newer else "nothing newer",
        )
        write_state(self.settings, checked_at=now.isoformat(), latest=asdict(release))

    def notice(self) -> Release | None:
        """The newer release to tell the person about, or None."""
        if not enabled(self.settings):
            return None
        latest = read_state(self.settings).get("latest")
        if not isinstance(latest, dict):
            return None
        try:
            release = parse_release(
                {
                    "tag_name": latest.get("version"),
                    "html_url": latest.get("url"),
                    "body": latest.get("notes"),
                    "name": latest.get("name"),
                    "published_at": latest.get("published_at"),
                }
            )
            return release if is_newer(release) else None
        except (FeedError, InvalidVersion):
            return None
