"""A fake release feed (GitHub's latest-release API shape) on a real loopback socket."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def github_release(tag: str, **extra: Any) -> dict[str, Any]:
    """A release object as api.github.com/repos/OWNER/REPO/releases/latest answers it."""
    return {
        "tag_name": tag,
        "name": f"TaskChat {tag.lstrip('v')}",
        "html_url": f"https://github.com/taskchat/taskchat/releases/tag/{tag}",
        "body": f"## What's new in {tag}\n\n- Faster start\n- Fewer bugs",
        "draft": False,
        "prerelease": False,
        "published_at": "2026-12-01T10:00:00Z",
        **extra,
    }


class FakeReleaseFeed:
    """Answers every GET with `body` (bytes or JSON-able) and `status`, after `delay` s."""

    def __init__(self) -> None:
        self.body: Any = github_release("v0.0.1")
        self.status = 200
        self.delay = 0.0
        self.requests: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append({k.lower(): v for k, v in self.headers.items()})
                time.sleep(fake.delay)
                raw = fake.body
                data = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/repos/taskchat/taskchat/releases/latest"

    def start(self) -> FakeReleaseFeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
