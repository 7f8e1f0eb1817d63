"""Property-based fuzzing of the side doors (issue 23): POST /api/import on a live server,
and sync's apply of pulled rows on a real SQLite file.

Invariants: no 5xx; nothing stored that the app's own checks would refuse; /api/health
answers within 1 s throughout; and data that a rejected input targeted is unchanged (the
other profile's rows always; the person's own rows whenever the input was refused).
"""

from __future__ import annotations

import json
import string

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.sync import local
from app.sync.clock import HLC, valid_stamp
from tests.fuzz_util import (
    OTHER,
    HealthWatch,
    assert_every_row_acceptable,
    seed_other_profile,
    served,
    stored_rows,
)
from tests.sync_util import Device

IMPORT_EXAMPLES = 1000
SYNC_EXAMPLES = 1000
SETTINGS = {
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
    "derandomize": True,
    "database": None,
}
STAMP = "2026-11-01T10:00:00+00:00"

_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
odd_text = st.text(max_size=30) | st.sampled_from(
    ["", " ", "\x00", "\x1b[31mred", "x" * 300, "a,b", '"q"', "\\", "#Tag", "\u202e"]
)
odd_ids = st.sampled_from(
    ["t-1", "t-2", "other-1", "", "has space", "x" * 100, "é", "1"]
) | st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=40)
odd_dates = st.sampled_from(
    [None, STAMP, "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-05:00", "nope", "2026-13-01",
     "2026-12-01 10:00:00.000000", 17, "2027-02-01"]
)  # fmt: skip
json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def task_strategy():
    return st.fixed_dictionaries(
        {"id": odd_ids, "title": odd_text | _scalars},
        optional={
            "description": odd_text | _scalars,
            "priority": st.sampled_from(["none", "low", "medium", "high", "bogus", 3, None]),
            "completed": st.booleans() | _scalars,
            "completed_at": odd_dates,
            "due_at": odd_dates,
            "due_all_day": st.booleans() | _scalars,
            "tags": st.lists(odd_text | _scalars, max_size=25) | _scalars,
            "created_at": odd_dates,
            "updated_at": odd_dates,
        },
    )


def item_strategy(thread_id: str):
    kinds = st.sampled_from(
        ["user_message", "assistant_message", "widget", "hidden_context_item", "end_of_turn", "x y"]
    )
    return st.fixed_dictionaries(
        {"id": odd_ids, "type": kinds},
        optional={
            "seq": st.integers() | _scalars,
            "created_at": odd_dates,
            "data": st.one_of(
                json_values,
                st.just(
                    {
                        "type": "user_message",
                        "content": [{"type": "input_text", "text": "hi"}],
                        "attachments": [],
                        "inference_options": {},
                    }
                ),
                st.just(
                    {
                        "type": "assistant_message",
                        "content": [{"type": "output_text", "text": "ok", "annotations": []}],
                    }
                ),
            ),
        },
    )


def thread_strategy():
    return st.fixed_dictionaries(
        {"id": st.sampled_from(["thr_1", "thr_2", "thr_other", "bad id"])},
        optional={
            "title": odd_text | st.none(),
            "status": st.sampled_from(
                [{"type": "active"}, {"type": "closed"}, {"type": "boom"}, [1], None]
            ),
            "metadata": json_values | st.just({"pending_deletion": {"task_ids": ["t-1"]}}),
            "created_at": odd_dates,
            "updated_at": odd_dates,
            "items": st.lists(item_strategy("thr_1"), max_size=4) | _scalars,
        },
    )


documents = st.fixed_dictionaries(
    {
        "format": st.sampled_from(["taskchat-export", "taskchat-export", "other"]),
        "version": st.sampled_from([1, 1, 1, 2, 0, "1", True]),
    },
    optional={
        "tasks": st.lists(task_strategy(), max_size=5) | _scalars,
        "threads": st.lists(thread_strategy(), max_size=2),
        "links": st.lists(
            st.fixed_dictionaries(
                {"task_id": odd_ids, "thread_id": st.sampled_from(["thr_1", "thr_other", "x y"]),
                 "action": st.sampled_from(["created", "updated", "a b", 1])},
                optional={"created_at": odd_dates, "item_id": odd_ids | st.none()},
            ) | _scalars,
            max_size=3,
        ),
    },
)  # fmt: skip


def test_import_fuzz(tmp_path):
    """1,000 generated exports (mostly valid in shape, hostile in detail) to POST /api/import
    of a `taskchat serve` process."""
    data_dir = tmp_path / "data"
    statuses: dict[int, int] = {}
    with served(data_dir) as (url, cookie):
        db_path = data_dir / "taskchat.db"
        seed_other_profile(db_path)
        theirs = stored_rows(db_path, OTHER)
        with (
            HealthWatch(url) as health,
            httpx.Client(base_url=url, headers=cookie, timeout=30) as client,
        ):

            @given(doc=documents, raw=st.booleans())
            @hypothesis_settings(max_examples=IMPORT_EXAMPLES, **SETTINGS)
            def run(doc, raw):
                mine = stored_rows(db_path)
                body = json.dumps(doc).encode()
                if raw:
                    body = body[: len(body) // 2]  # a truncated file
                r = client.post("/api/import", content=body)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                assert r.status_code < 500, r.text[:300]
                if r.status_code >= 400:
                    assert set(r.json()) == {"error"}
                    assert stored_rows(db_path) == mine  # refused: nothing changed
                else:
                    assert set(r.json()) >= {"inserted", "skipped", "summary"}
                assert stored_rows(db_path, OTHER) == theirs
                listing = client.get("/api/tasks")
                assert listing.status_code == 200, listing.text[:300]

            run()
            r = client.post("/api/chatkit", json={"type": "threads.list", "params": {"limit": 50}})
            assert r.status_code == 200
        health.check()
    assert statuses.get(200, 0) >= 100 and sum(statuses.values()) >= IMPORT_EXAMPLES, statuses
    assert_every_row_acceptable(db_path)


# ------------------------------------------------------------------ sync apply

TASK_VALUES = {
    "title": st.sampled_from(["fine", "x" * 300, " pad ", "nul\x00", "", 5, None]),
    "description": st.sampled_from(["", "d", None, "x" * 3000]),
    "priority": st.sampled_from(["none", "high", "bogus", None]),
    "completed": st.sampled_from([0, 1, 2, "1", None]),
    "completed_at": st.sampled_from([None, "2026-12-01 10:00:00.000000", "soon"]),
    "due_at": st.sampled_from([None, "2026-12-01 00:00:00.000000", "0001-01-01 00:00:00", "x"]),
    "due_all_day": st.sampled_from([0, 1, None, "yes"]),
    "tags": st.sampled_from(["[]", '["a"]', '["a", "A"]', "nope", '["x,y"]', "[1]", None]),
    "created_at": st.sampled_from(["2026-12-01 10:00:00.000000", None, "bad"]),
    "updated_at": st.sampled_from(["2026-12-01 10:00:00.000000", None]),
}
THREAD_VALUES = {
    "title": st.sampled_from(["t", None, "x" * 300, "\x00"]),
    "status": st.sampled_from(['{"type": "active"}', "{}", '{"type": "boom"}', "[1]", None]),
    "metadata": st.sampled_from(["{}", "[1, 2]", '{"a": 1}', "nope", None]),
    "created_at": st.sampled_from(["2026-12-01 10:00:00.000000", None]),
    "updated_at": st.sampled_from(["2026-12-01 10:00:00.000000", None]),
}
ITEM_DATA = json.dumps(
    {"id": "msg_1", "thread_id": "thr_1", "type": "assistant_message",
     "content": [{"type": "output_text", "text": "ok", "annotations": []}]}
)  # fmt: skip
ITEM_VALUES = {
    "thread_id": st.sampled_from(["thr_1", "thr_seed", "bad id", None]),
    "type": st.sampled_from(["assistant_message", "widget", "x y", None]),
    "created_at": st.sampled_from(["2026-12-01 10:00:00.000000", None]),
    "seq": st.sampled_from([1, 0, -1, 2**60, "1", None]),
    "data": st.sampled_from([ITEM_DATA, "{}", "[1]", "nope", None]),
}
STAMPS = st.sampled_from(
    ["0000019a00000000", "0000019a00000001", "ffffffffffffffff", "zz", "", "0000019a0000000"]
)
DEVICES = st.sampled_from(["dev-z", "dev-y", "", "d" * 100])
ROW_IDS = {
    "task": st.sampled_from(["t-seed", "t-1", "t-2", "bad id", "x" * 40]),
    "chat_thread": st.sampled_from(["thr_seed", "thr_1", "bad id"]),
    "chat_item": st.sampled_from(["msg_seed", "msg_1", "bad id"]),
}
VALUES = {"task": TASK_VALUES, "chat_thread": THREAD_VALUES, "chat_item": ITEM_VALUES}


@st.composite
def pulled_row(draw):
    entity = draw(st.sampled_from(list(VALUES)))
    names = draw(st.lists(st.sampled_from(list(VALUES[entity])), unique=True, max_size=10))
    fields = {}
    for name in names:
        if draw(st.integers(0, 20)) == 0:
            fields[name] = draw(json_values)  # a malformed write
        else:
            fields[name] = [draw(VALUES[entity][name]), draw(STAMPS), draw(DEVICES)]
    tomb = draw(st.none() | st.tuples(STAMPS, DEVICES).map(list) | json_values)
    return {"e": entity, "id": draw(ROW_IDS[entity]), "f": fields, "d": tomb}


@pytest.fixture
async def device(tmp_path):
    d = await Device(tmp_path, "dev-a", "fuzz-user", "postgresql://unused@127.0.0.1:9/x").open()
    yield d
    await d.close()


async def test_sync_apply_fuzz(device):
    """1,000 batches of pulled rows, most of them damaged somewhere: whatever is stored
    afterwards passes the app's checks, and the seeded rows survive a refused batch."""
    await device.create(title="seeded")
    async with device.engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE task SET id = 't-seed' WHERE user_id = 'fuzz-user'")
    db_path = device.settings.sqlite_path
    other = HLC("dev-z")
    batches = st.lists(pulled_row(), min_size=1, max_size=4)
    cases = []

    @given(rows=batches)
    @hypothesis_settings(max_examples=SYNC_EXAMPLES, **SETTINGS)
    def collect(rows):
        cases.append(rows)

    collect()
    cursor = 0
    after = stored_rows(db_path)
    for rows in cases:
        before = after
        cursor += 1
        async with device.engine.begin() as conn:
            await conn.run_sync(local.apply_remote, "fuzz-user", device.clock, rows, "srv", cursor)
        assert valid_stamp(device.clock.last)  # never pushed past its format or a day ahead
        assert_every_row_acceptable(db_path)
        after = stored_rows(db_path)
        async with device.engine.connect() as conn:
            held = await conn.run_sync(local.quarantined)
        for key in held:
            entity, row_id = key.split(":", 1)
            if any(
                r.get("id") == row_id and r.get("e") == entity for r in rows if isinstance(r, dict)
            ):
                # A refused row leaves the stored one as it was.
                if row_id in before.get(entity, {}) and not any(
                    isinstance(r.get("d"), list) for r in rows if r.get("id") == row_id
                ):
                    assert after[entity].get(row_id) == before[entity][row_id], key
    assert len(cases) >= SYNC_EXAMPLES
    del other
