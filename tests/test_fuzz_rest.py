"""Schemathesis against the REST API's own OpenAPI spec, on a live server with a session.

Every operation gets generated valid and invalid requests (bounded counts, so the suite stays
quick): no 5xx, every error in the one error shape, and nothing stored that the API itself
would refuse (checked straight in the database after each call).
"""

from __future__ import annotations

import sqlite3
import time

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from app.tasks.models import (
    _TAG_FORBIDDEN,
    CONTROL_CHARS,
    DESCRIPTION_MAX,
    TAG_MAX,
    TAGS_MAX,
    TITLE_MAX,
    Priority,
)
from tests.fuzz_util import (
    OTHER,
    HealthWatch,
    assert_every_row_acceptable,
    seed_other_profile,
    served,
    stored_rows,
)

# Operations whose effects leave this machine or this test (keyring, remote sync) are
# covered by their own tests; here they would only write to the test's keyring backend.
SKIP_PATHS = (
    "/api/settings/gemini-key",
    "/api/sync/check",
    "/api/sync/setup",
    "/api/sync/leave",
    "/api/sync/devices/{device_id}",
)
EXAMPLES = 75  # per operation and mode: over 1,000 requests in all


def stored_tasks_are_clean(db_path) -> None:
    import json

    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT title, description, priority, tags, user_id FROM task"
        ).fetchall()
        for title, description, priority, tags, user_id in rows:
            assert 0 < len(title) <= TITLE_MAX and title == title.strip(), title
            assert not CONTROL_CHARS.search(title), repr(title)
            assert len(description) <= DESCRIPTION_MAX and not CONTROL_CHARS.search(description)
            assert priority in {p.value for p in Priority}
            tags = json.loads(tags)
            assert len(tags) <= TAGS_MAX
            assert all(0 < len(t) <= TAG_MAX and not _TAG_FORBIDDEN.search(t) for t in tags)
            assert user_id
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def _check(case, response, data_path) -> None:
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400 and "json" in response.headers.get("content-type", [""])[0]:
        body = response.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    if case.path.startswith("/api/tasks"):
        stored_tasks_are_clean(data_path)


def test_rest_api_never_fails_inside(settings, tmp_path):
    """Both generation modes against a `taskchat serve` process (its own GIL: /api/health is
    timed from a thread here, and must answer within 1 s throughout)."""
    from app.main import create_app

    api = schemathesis.openapi.from_dict(create_app(settings).openapi())
    operations = [r.ok() for r in api.get_all_operations()]
    operations = [op for op in operations if not op.path.startswith(SKIP_PATHS)]
    assert {op.path for op in operations} >= {"/api/tasks", "/api/tasks/{task_id}"}
    data_dir = tmp_path / "served"
    calls: list[tuple[str, int]] = []
    spans: list[tuple[float, float, str, str]] = []
    with served(data_dir) as (url, headers):
        db_path = data_dir / "taskchat.db"
        seed_other_profile(db_path)
        theirs = stored_rows(db_path, OTHER)
        with HealthWatch(url) as health:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for op in operations:

                    @given(case=op.as_strategy(generation_mode=mode))
                    @hypothesis_settings(
                        max_examples=EXAMPLES,
                        deadline=None,
                        suppress_health_check=list(HealthCheck),
                        derandomize=True,
                        database=None,
                    )
                    def run(case):
                        started = time.perf_counter()
                        response = case.call(base_url=url, headers=headers, timeout=30)
                        calls.append((case.path, response.status_code))
                        spans.append((started, time.perf_counter(), case.method, case.path))
                        _check(case, response, db_path)

                    try:
                        run()
                    except Unsatisfiable:
                        # Nothing to get wrong (no parameters, no body): no negative case.
                        assert mode is GenerationMode.NEGATIVE, op.path
        slow = {
            f"{m} {p}"
            for a, b, m, p in spans
            if a <= health.worst_at + health.worst and b >= health.worst_at
        }
        assert health.worst < 1.0, (health.worst, slow)
        health.check()
        assert stored_rows(db_path, OTHER) == theirs
        assert_every_row_acceptable(db_path)
    assert len(calls) >= 1000, len(calls)
    assert not [c for c in calls if c[1] >= 500]
