"""One search over thread titles, chat messages and tasks, ranked, with highlighted snippets.

SQLite: FTS5 over `search_doc` (see app/search/schema.py), ranked by bm25 with titles
weighted up. PostgreSQL: `to_tsvector('simple', …)` expression indexes, ts_rank and
ts_headline. Every word of the query must match (as a prefix), like the task search.

Snippets mark hits with `<mark>…</mark>`; any literal `<mark>`/`</mark>` in the stored
text is removed first, so the markers in a snippet are always ours and a client can
split on them (never render the snippet as HTML).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.search.schema import MESSAGE_TYPES, PG_ITEM_TEXT_JSONB
from app.tasks.models import Task

MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
# Private-use characters as markers inside SQL; swapped for <mark> after cleaning the text.
_OPEN, _CLOSE = "\ue000", "\ue001"
_WORD = re.compile(r"\w+", re.UNICODE)
_LITERAL_MARK = re.compile(r"</?mark>", re.IGNORECASE)
_MARKDOWN_NOISE = re.compile(r"\*\*|__|`")
LIMIT_MAX = 100
# Above this many matches, only the newest ones are ranked (see _sqlite_rows).
RANK_CAP = 4000
# bm25 column weights: (title, body)
TITLE_WEIGHT, BODY_WEIGHT = 4.0, 1.0

Kind = Literal["task", "thread", "message"]


class SearchResult(BaseModel):
    kind: Kind
    id: str
    thread_id: str | None
    item_id: str | None
    title: str
    snippet: str
    score: float
    # Task hits only: whether it repeats and when it reminds (null otherwise).
    recurrence: str | None = None
    remind_at: datetime | None = None


class SearchResults(BaseModel):
    results: list[SearchResult]


def words(q: str) -> list[str]:
    return _WORD.findall(q or "")[:16]


def _marked(snippet: str | None) -> str:
    raw = snippet or ""
    # Drop literal markers in the user's own text, then turn ours into <mark>.
    parts = re.split(f"([{_OPEN}{_CLOSE}])", raw)
    out = []
    for part in parts:
        if part == _OPEN:
            out.append(MARK_OPEN)
        elif part == _CLOSE:
            out.append(MARK_CLOSE)
        else:
            # Markdown emphasis and code ticks would show as noise in a one-line snippet.
            out.append(_MARKDOWN_NOISE.sub("", _LITERAL_MARK.sub("", part)))
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _fts5_query(terms: list[str]) -> str:
    # Quoted, so FTS syntax cannot be injected; each word is a prefix.
    return " ".join('"' + w.replace('"', '""') + '"*' for w in terms)


_SQLITE = text(
    f"""
SELECT d.kind, d.ref_id, d.thread_id, d.title, t.title AS thread_title,
       snippet(search_fts, 0, '{_OPEN}', '{_CLOSE}', '…', 12) AS title_snip,
       snippet(search_fts, 1, '{_OPEN}', '{_CLOSE}', '…', 16) AS body_snip,
       search_fts.rank AS rank
FROM search_fts
JOIN search_doc AS d ON d.id = search_fts.rowid
LEFT JOIN chat_thread AS t ON t.id = d.thread_id
WHERE search_fts MATCH :match
  AND search_fts.rowid > :lo
  AND search_fts.rank MATCH 'bm25({TITLE_WEIGHT}, {BODY_WEIGHT})'
  AND d.user_id = :user_id
ORDER BY search_fts.rank
LIMIT :limit
"""
)


_SQLITE_COUNT = text("SELECT count(*) FROM search_fts WHERE search_fts MATCH :match")
_SQLITE_MAX_ID = text("SELECT coalesce(max(id), 0) FROM search_doc")


async def _sqlite_rows(session: AsyncSession, user_id: str, match: str, limit: int) -> list:
    """Ranked rows; for very common words only the newest ~RANK_CAP matches are ranked.

    bm25 has to score every match before the best 20 are known: ~1 µs per match, so a word
    in 100,000 messages costs ~90 ms. Counting matches costs ~2 ms, so when there are more
    than RANK_CAP the ranking is limited to the newest documents (rowid = insertion order)
    expected to hold about RANK_CAP of them; the window widens if that finds too few.
    """
    # sqlmodel's exec is typed for select() only; raw SQL (text) runs through it the same.
    count = _SQLITE_COUNT.bindparams(match=match)
    matches = (await session.exec(count)).one()[0]  # type: ignore[call-overload]
    if not matches:
        return []
    lo = 0
    if matches > RANK_CAP:
        max_id = (await session.exec(_SQLITE_MAX_ID)).one()[0]  # type: ignore[call-overload]
        window = max(1, max_id * RANK_CAP // matches)
        lo = max(0, max_id - window)
    while True:
        ranked = _SQLITE.bindparams(match=match, user_id=user_id, limit=limit, lo=lo)
        rows = (await session.exec(ranked)).all()  # type: ignore[call-overload]
        if len(rows) >= limit or lo == 0:
            return list(rows)
        window = (max_id - lo) * 4
        lo = max(0, max_id - window)


async def _search_sqlite(
    session: AsyncSession, user_id: str, terms: list[str], limit: int
) -> list[SearchResult]:
    rows = await _sqlite_rows(session, user_id, _fts5_query(terms), limit)
    results = []
    for kind, ref_id, thread_id, title, thread_title, title_snip, body_snip, rank in rows:
        if kind == "message":
            shown_title, snip = thread_title or "", body_snip
        elif kind == "thread":
            shown_title, snip = title, title_snip
        else:
            shown_title = title
            snip = body_snip if _OPEN in (body_snip or "") else title_snip
        results.append(
            SearchResult(
                kind=kind,
                id=thread_id if kind == "thread" else ref_id,
                thread_id=thread_id,
                item_id=ref_id if kind == "message" else None,
                title=shown_title or "",
                snippet=_marked(snip),
                score=round(-float(rank), 4),
            )
        )
    return results


_PG_TEXT = f"array_to_string(ARRAY(SELECT jsonb_array_elements_text({PG_ITEM_TEXT_JSONB})), ' ')"
_PG = text(
    f"""
WITH q AS (SELECT to_tsquery('simple', :tsquery) AS query),
hits AS (
  (SELECT 'task' AS kind, task.id AS ref_id, NULL AS thread_id, task.title AS title,
          task.title || ' ' || task.description AS body,
          ts_rank(to_tsvector('simple', task.title || ' ' || task.description), q.query)
            + ts_rank(to_tsvector('simple', task.title), q.query) AS score
   FROM task, q
   WHERE task.user_id = :user_id
     AND to_tsvector('simple', task.title || ' ' || task.description) @@ q.query
   ORDER BY score DESC LIMIT :limit)
  UNION ALL
  (SELECT 'thread', th.id, th.id, coalesce(th.title, ''), coalesce(th.title, ''),
          2 * ts_rank(to_tsvector('simple', coalesce(th.title, '')), q.query)
   FROM chat_thread AS th, q
   WHERE th.user_id = :user_id
     AND to_tsvector('simple', coalesce(th.title, '')) @@ q.query
   ORDER BY 6 DESC LIMIT :limit)
  UNION ALL
  (SELECT 'message', ci.id, ci.thread_id, NULL, NULL,
          ts_rank(to_tsvector('simple', {PG_ITEM_TEXT_JSONB}), q.query)
   FROM chat_item AS ci, q
   WHERE ci.user_id = :user_id AND ci.type IN {MESSAGE_TYPES}
     AND to_tsvector('simple', {PG_ITEM_TEXT_JSONB}) @@ q.query
   ORDER BY 6 DESC LIMIT :limit)
),
top AS (SELECT * FROM hits ORDER BY score DESC, ref_id LIMIT :limit)
SELECT top.kind, top.ref_id, top.thread_id,
       CASE WHEN top.kind = 'message' THEN coalesce(th.title, '') ELSE top.title END,
       ts_headline('simple',
         CASE WHEN top.kind = 'message' THEN
           (SELECT {_PG_TEXT} FROM chat_item WHERE chat_item.id = top.ref_id)
         ELSE top.body END,
         q.query,
         'StartSel={_OPEN}, StopSel={_CLOSE}, MaxWords=24, MinWords=8, MaxFragments=2, '
         'FragmentDelimiter=" … "'),
       top.score
FROM top CROSS JOIN q LEFT JOIN chat_thread AS th ON th.id = top.thread_id
ORDER BY top.score DESC, top.ref_id
"""
)


def _tsquery(terms: list[str]) -> str:
    # Only word characters reach to_tsquery (no operators can be injected).
    return " & ".join(w + ":*" for w in terms)


async def _search_postgres(
    session: AsyncSession, user_id: str, terms: list[str], limit: int
) -> list[SearchResult]:
    ranked = _PG.bindparams(tsquery=_tsquery(terms), user_id=user_id, limit=limit)
    rows = (await session.exec(ranked)).all()  # type: ignore[call-overload]  # raw SQL (text)
    return [
        SearchResult(
            kind=kind,
            id=thread_id if kind == "thread" else ref_id,
            thread_id=thread_id,
            item_id=ref_id if kind == "message" else None,
            title=title or "",
            snippet=_marked(headline),
            score=round(float(score), 4),
        )
        for kind, ref_id, thread_id, title, headline, score in rows
    ]


async def search(*, session: AsyncSession, user_id: str, q: str, limit: int = 20) -> SearchResults:
    terms = words(q)
    limit = max(1, min(int(limit), LIMIT_MAX))
    if not terms:
        return SearchResults(results=[])
    dialect = session.bind.dialect.name  # type: ignore[union-attr]  # bound to the engine
    if dialect == "sqlite":
        results = await _search_sqlite(session, user_id, terms, limit)
    else:
        results = await _search_postgres(session, user_id, terms, limit)
    await _add_reminders(session, user_id, results)
    return SearchResults(results=results)


async def _add_reminders(session: AsyncSession, user_id: str, results: list[SearchResult]) -> None:
    ids = [r.id for r in results if r.kind == "task"]
    if not ids:
        return
    stmt = select(Task.id, Task.recurrence, Task.remind_at).where(
        Task.user_id == user_id, col(Task.id).in_(ids)
    )
    found = {row[0]: row for row in (await session.exec(stmt)).all()}
    for result in results:
        if result.kind == "task" and result.id in found:
            result.recurrence, result.remind_at = found[result.id][1], found[result.id][2]
