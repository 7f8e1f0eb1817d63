// One search box for conversations, messages and tasks (GET /api/search).

import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useEffect, useId, useRef, useState } from 'react'
import { api, type SearchResult } from '../api/client'
import { errorMessage, keys } from '../api/queryClient'
import { IconSearch } from '../ui/icons'
import { splitMarks } from './highlight'
import './search.css'

interface Props {
  onOpen: (result: SearchResult) => void
}

const PAGE = 20
const LIMIT_MAX = 100 // the server's cap (app/search/service.py)

const KIND_LABEL: Record<SearchResult['kind'], string> = {
  task: 'Task',
  thread: 'Chat',
  message: 'Message',
}

export function Snippet({ text }: { text: string }) {
  return (
    <>
      {splitMarks(text).map((p, i) => (p.hit ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
    </>
  )
}

export default function SearchBox({ onOpen }: Props) {
  const [q, setQ] = useState('')
  const [open, setOpen] = useState(false)
  const [active, setActive] = useState(0)
  const listId = useId()
  const boxRef = useRef<HTMLDivElement>(null)
  const inputRef = useRef<HTMLInputElement>(null)

  const term = useDebounced(q.trim(), 150)
  // How many results to ask for; a new search term starts again at one page.
  const [asked, setAsked] = useState({ term: '', limit: PAGE })
  const limit = asked.term === term ? asked.limit : PAGE
  const search = useQuery({
    queryKey: [...keys.search(term), limit],
    queryFn: ({ signal }) => api.search(term, limit, signal),
    enabled: term !== '',
    placeholderData: keepPreviousData,
    staleTime: 10_000,
  })
  const results = q.trim() && search.data ? search.data.results : null
  const error = q.trim() && search.isError ? errorMessage(search.error) : null
  useEffect(() => setActive((a) => (search.data && a < search.data.results.length ? a : 0)), [search.data])
  // The server ranks and cuts at `limit`: a full answer may have more behind it.
  const more = !!results && results.length >= limit && limit < LIMIT_MAX
  const loadMore = () => setAsked({ term, limit: Math.min(LIMIT_MAX, limit + PAGE) })
  const options = (results?.length ?? 0) + (more ? 1 : 0)

  // Ctrl/Cmd+K focuses the box from anywhere.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault()
        inputRef.current?.focus()
        inputRef.current?.select()
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [])

  useEffect(() => {
    if (!open) return
    const onDown = (e: MouseEvent) => {
      if (boxRef.current && !boxRef.current.contains(e.target as Node)) setOpen(false)
    }
    document.addEventListener('mousedown', onDown)
    return () => document.removeEventListener('mousedown', onDown)
  }, [open])

  const choose = (r: SearchResult) => {
    setOpen(false)
    inputRef.current?.blur()
    onOpen(r)
  }

  const shown = open && q.trim() !== '' && (results !== null || error !== null)

  return (
    <div className="global-search" ref={boxRef} data-testid="global-search">
      <IconSearch />
      <label htmlFor={`${listId}-input`} className="sr-only">
        Search chats and tasks
      </label>
      <input
        id={`${listId}-input`}
        ref={inputRef}
        type="search"
        role="combobox"
        aria-expanded={shown}
        aria-controls={`${listId}-list`}
        aria-autocomplete="list"
        placeholder="Search chats and tasks"
        title="Search chats and tasks (Ctrl+K)"
        value={q}
        onChange={(e) => {
          setQ(e.target.value)
          setOpen(true)
        }}
        onFocus={() => setOpen(true)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            setOpen(false)
          } else if (e.key === 'ArrowDown' && results?.length) {
            e.preventDefault()
            setOpen(true)
            setActive((a) => (a + 1) % options)
          } else if (e.key === 'ArrowUp' && results?.length) {
            e.preventDefault()
            setActive((a) => (a - 1 + options) % options)
          } else if (e.key === 'Enter' && results?.[active]) {
            e.preventDefault()
            choose(results[active])
          } else if (e.key === 'Enter' && more && active === results?.length) {
            e.preventDefault()
            loadMore()
          }
        }}
        data-testid="global-search-input"
        autoComplete="off"
        maxLength={200}
      />
      {shown && (
        <ul className="search-results" id={`${listId}-list`} role="listbox" data-testid="search-results">
          {error && <li className="search-empty">{error}</li>}
          {!error && results?.length === 0 && <li className="search-empty">No matches.</li>}
          {results?.map((r, i) => (
            <li
              key={`${r.kind}:${r.item_id ?? r.id}`}
              role="option"
              aria-selected={i === active}
              className={`search-result${i === active ? ' active' : ''}`}
              onMouseEnter={() => setActive(i)}
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => choose(r)}
              data-testid="search-result"
              data-kind={r.kind}
            >
              <span className={`search-kind kind-${r.kind}`}>{KIND_LABEL[r.kind]}</span>
              <span className="search-text">
                {r.kind === 'thread' ? (
                  <span className="search-title">
                    <Snippet text={r.snippet || r.title || 'Untitled conversation'} />
                  </span>
                ) : (
                  <>
                    <span className="search-title">{r.title || 'Untitled conversation'}</span>
                    <span className="search-snippet">
                      <Snippet text={r.snippet} />
                    </span>
                  </>
                )}
              </span>
            </li>
          ))}
          {more && (
            <li
              role="option"
              aria-selected={active === results.length}
              className={`search-result search-more${active === results.length ? ' active' : ''}`}
              onMouseEnter={() => setActive(results.length)}
              onMouseDown={(e) => e.preventDefault()}
              onClick={loadMore}
              data-testid="search-more"
            >
              {search.isFetching ? 'Loading…' : 'More results'}
            </li>
          )}
        </ul>
      )}
    </div>
  )
}

function useDebounced<T>(value: T, ms: number): T {
  const [out, setOut] = useState(value)
  useEffect(() => {
    const t = setTimeout(() => setOut(value), ms)
    return () => clearTimeout(t)
  }, [value, ms])
  return out
}
