// TaskChat's own chat view: speaks the ChatKit protocol to /api/chatkit.
// Used when the ChatKit web component (CDN) is unavailable.

import type { ReactNode } from 'react'
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'react'
import type { KeyboardEvent as ReactKeyboardEvent } from 'react'
import Markdown from 'react-markdown'
import { ApiError, sessionFetch } from '../api/client'
import { IconClose, IconEdit, IconMenu, IconPlus, IconRetry, IconSend, IconStop, IconTrash } from '../ui/icons'
import { EXAMPLE_PROMPTS } from './prompts'
import {
  ChatKitClient,
  type ChatState,
  type StreamEvent,
  type ThreadItem,
  type ThreadMeta,
  chatReducer,
  initialChatState,
  itemText,
  req,
  retryPlan,
  threadTitle,
} from './protocol'

const THREAD_KEY = 'taskchat.thread'

interface Props {
  onTasksChanged: () => void
}

function errMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message
  if (e instanceof Error) return e.message
  return String(e)
}

let tempCounter = 0

export default function BuiltinChat({ onTasksChanged }: Props) {
  const client = useMemo(() => new ChatKitClient('/api/chatkit', sessionFetch), [])
  const [state, dispatch] = useReducer(chatReducer, initialChatState)
  const stateRef = useRef<ChatState>(state)
  stateRef.current = state
  const abortRef = useRef<AbortController | null>(null)
  const [draft, setDraft] = useState('')
  const [showThreads, setShowThreads] = useState(false)
  const inputRef = useRef<HTMLTextAreaElement>(null)
  const effectRef = useRef(onTasksChanged)
  effectRef.current = onTasksChanged

  const refreshThreads = useCallback(async () => {
    try {
      const page = await client.listThreads(50)
      dispatch({ type: 'threads/loaded', threads: page.data ?? [] })
      return page.data ?? []
    } catch (e) {
      console.warn('threads.list failed', e)
      dispatch({ type: 'threads/loaded', threads: stateRef.current.threads })
      return null
    }
  }, [client])

  const openThread = useCallback(
    async (threadId: string) => {
      abortRef.current?.abort()
      dispatch({ type: 'thread/open', threadId })
      setShowThreads(false)
      try {
        localStorage.setItem(THREAD_KEY, threadId)
      } catch {
        /* ignore */
      }
      try {
        const items = await client.listAllItems(threadId)
        dispatch({ type: 'thread/items', threadId, items })
      } catch (e) {
        dispatch({ type: 'thread/items-failed', threadId, message: errMessage(e) })
      }
    },
    [client],
  )

  // Initial load: thread list, then reopen the last thread.
  useEffect(() => {
    let cancelled = false
    void (async () => {
      const threads = await refreshThreads()
      if (cancelled || !threads) return
      let saved: string | null = null
      try {
        saved = localStorage.getItem(THREAD_KEY)
      } catch {
        /* ignore */
      }
      if (saved && threads.some((t) => t.id === saved) && !stateRef.current.activeThreadId) void openThread(saved)
    })()
    return () => {
      cancelled = true
      abortRef.current?.abort()
    }
  }, [refreshThreads, openThread])

  const runStream = useCallback(
    async (body: Parameters<ChatKitClient['stream']>[0]) => {
      const controller = new AbortController()
      abortRef.current = controller
      const onEvent = (event: StreamEvent) => {
        dispatch({ type: 'stream/event', event })
        if (event.type === 'client_effect' && event.name === 'tasks_changed') effectRef.current()
        if (event.type === 'thread.created') {
          try {
            localStorage.setItem(THREAD_KEY, event.thread.id)
          } catch {
            /* ignore */
          }
        }
      }
      try {
        const out = await client.stream(body, onEvent, controller.signal)
        dispatch({ type: 'stream/end', aborted: out.aborted })
      } catch (e) {
        dispatch({
          type: 'stream/failed',
          error: {
            code: e instanceof ApiError ? e.code : 'network',
            message: errMessage(e),
            allowRetry: !(e instanceof ApiError && (e.status === 401 || e.status === 400)),
          },
        })
      } finally {
        if (abortRef.current === controller) abortRef.current = null
        void refreshThreads()
        // Tools may have changed tasks even when no effect arrived.
        effectRef.current()
      }
    },
    [client, refreshThreads],
  )

  const send = useCallback(
    (text: string) => {
      const s = stateRef.current
      const t = text.trim()
      if (!t || s.streaming) return
      dispatch({ type: 'send/start', text: t, tempId: `pending-${++tempCounter}` })
      void runStream(s.activeThreadId ? req.addUserMessage(s.activeThreadId, t) : req.createThread(t))
    },
    [runStream],
  )

  const stop = useCallback(() => {
    abortRef.current?.abort()
  }, [])

  const retry = useCallback(() => {
    const s = stateRef.current
    if (s.streaming) return
    const plan = retryPlan(s)
    if (!plan) return
    if (plan.kind === 'retry_after_item') {
      dispatch({ type: 'retry/start', afterItemId: plan.itemId })
      void runStream(req.retryAfterItem(plan.threadId, plan.itemId))
    } else {
      send(plan.text)
    }
  }, [runStream, send])

  const newChat = useCallback(() => {
    abortRef.current?.abort()
    dispatch({ type: 'thread/new' })
    setShowThreads(false)
    try {
      localStorage.removeItem(THREAD_KEY)
    } catch {
      /* ignore */
    }
    inputRef.current?.focus()
  }, [])

  const rename = useCallback(
    async (t: ThreadMeta, title: string) => {
      const prev = t.title ?? ''
      dispatch({ type: 'thread/renamed', threadId: t.id, title })
      try {
        await client.renameThread(t.id, title)
      } catch (e) {
        dispatch({ type: 'thread/renamed', threadId: t.id, title: prev })
        window.alert(`Could not rename: ${errMessage(e)}`)
      }
    },
    [client],
  )

  const remove = useCallback(
    async (t: ThreadMeta) => {
      if (stateRef.current.activeThreadId === t.id) abortRef.current?.abort()
      try {
        await client.deleteThread(t.id)
        dispatch({ type: 'thread/deleted', threadId: t.id })
      } catch (e) {
        window.alert(`Could not delete: ${errMessage(e)}`)
      }
    },
    [client],
  )

  // Esc stops streaming from anywhere in the chat.
  useEffect(() => {
    if (!state.streaming) return
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') stop()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [state.streaming, stop])

  const onComposerKey = (e: ReactKeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault()
      if (!state.streaming) {
        const text = draft
        if (text.trim()) {
          setDraft('')
          send(text)
        }
      }
    } else if (e.key === 'Escape' && state.streaming) {
      e.preventDefault()
      stop()
    }
  }

  const submit = () => {
    if (state.streaming) return stop()
    if (!draft.trim()) return
    const text = draft
    setDraft('')
    send(text)
    inputRef.current?.focus()
  }

  // Auto-grow textarea up to a max height.
  useLayoutEffect(() => {
    const el = inputRef.current
    if (!el) return
    el.style.height = 'auto'
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`
  }, [draft])

  const active = state.threads.find((t) => t.id === state.activeThreadId)
  const empty = state.items.length === 0 && !state.loadingItems

  return (
    <div className={`builtin-chat${showThreads ? ' show-threads' : ''}`} data-testid="builtin-chat">
      <aside className="thread-sidebar" aria-label="Conversations">
        <div className="thread-sidebar-head">
          <button type="button" className="btn btn-primary btn-block" onClick={newChat} data-testid="new-chat-button">
            <IconPlus /> New chat
          </button>
        </div>
        <ThreadList
          threads={state.threads}
          loaded={state.threadsLoaded}
          activeId={state.activeThreadId}
          onOpen={openThread}
          onRename={rename}
          onDelete={remove}
        />
      </aside>
      <div className="thread-scrim" onClick={() => setShowThreads(false)} aria-hidden="true" />
      <section className="chat-main" aria-label="Chat">
        <header className="chat-head">
          <button
            type="button"
            className="icon-btn threads-toggle"
            aria-label="Show conversations"
            aria-expanded={showThreads}
            onClick={() => setShowThreads((v) => !v)}
          >
            <IconMenu />
          </button>
          <h2 className="chat-title" title={active ? threadTitle(active) : 'New conversation'}>
            {active ? threadTitle(active) : 'New conversation'}
          </h2>
          <button type="button" className="icon-btn" aria-label="New chat" onClick={newChat}>
            <IconPlus />
          </button>
        </header>

        <MessageList state={state} empty={empty} onPrompt={(p) => {
          if (p.fill) {
            setDraft(p.fill)
            requestAnimationFrame(() => {
              const el = inputRef.current
              if (el) {
                el.focus()
                el.setSelectionRange(el.value.length, el.value.length)
              }
            })
          } else send(p.prompt)
        }} />

        <div className="chat-footer">
          {state.notice && (
            <div className={`notice notice-${state.notice.level}`} role="status" data-testid="chat-notice">
              <div className="notice-body">
                {state.notice.title && <strong>{state.notice.title} </strong>}
                <Markdown components={mdComponents}>{state.notice.message}</Markdown>
              </div>
              <button type="button" className="icon-btn" aria-label="Dismiss notice" onClick={() => dispatch({ type: 'notice/dismiss' })}>
                <IconClose />
              </button>
            </div>
          )}
          {state.error && (
            <div className="chat-error" role="alert" data-testid="chat-error">
              <span className="chat-error-text">{state.error.message}</span>
              <span className="chat-error-actions">
                {state.error.allowRetry && !state.streaming && (
                  <button type="button" className="btn btn-small" onClick={retry} data-testid="retry-button">
                    <IconRetry /> Retry
                  </button>
                )}
                <button type="button" className="icon-btn" aria-label="Dismiss error" onClick={() => dispatch({ type: 'error/dismiss' })}>
                  <IconClose />
                </button>
              </span>
            </div>
          )}
          <form
            className="composer"
            onSubmit={(e) => {
              e.preventDefault()
              submit()
            }}
          >
            <label htmlFor="chat-input" className="sr-only">
              Message
            </label>
            <textarea
              id="chat-input"
              ref={inputRef}
              className="composer-input"
              data-testid="chat-input"
              rows={1}
              value={draft}
              placeholder="Message TaskChat…"
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={onComposerKey}
              autoFocus
            />
            {state.streaming ? (
              <button type="button" className="send-btn stop" aria-label="Stop" title="Stop (Esc)" onClick={stop} data-testid="stop-button">
                <IconStop />
              </button>
            ) : (
              <button type="submit" className="send-btn" aria-label="Send" title="Send (Enter)" disabled={!draft.trim()} data-testid="send-button">
                <IconSend />
              </button>
            )}
          </form>
          <p className="composer-hint">Enter to send · Shift+Enter for a new line · Esc to stop</p>
        </div>
      </section>
    </div>
  )
}

const mdComponents = {
  a: ({ href, children }: { href?: string; children?: ReactNode }) => (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  ),
}

function MessageList({
  state,
  empty,
  onPrompt,
}: {
  state: ChatState
  empty: boolean
  onPrompt: (p: (typeof EXAMPLE_PROMPTS)[number]) => void
}) {
  const scrollRef = useRef<HTMLDivElement>(null)
  const stick = useRef(true)

  const onScroll = () => {
    const el = scrollRef.current
    if (!el) return
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80
  }

  // Opening another thread jumps to its end.
  useEffect(() => {
    stick.current = true
  }, [state.activeThreadId])

  useLayoutEffect(() => {
    const el = scrollRef.current
    if (el && stick.current) el.scrollTop = el.scrollHeight
  }, [state.items, state.progress, state.streaming, state.error])

  const last = state.items[state.items.length - 1]
  const waiting = state.streaming && (!last || last.type !== 'assistant_message' || itemText(last) === '')
  const lastAssistantStreaming = state.streaming && last?.type === 'assistant_message'

  return (
    <div className="messages" ref={scrollRef} onScroll={onScroll} data-testid="message-list" aria-live="polite" aria-busy={state.streaming}>
      {empty ? (
        <div className="start-screen" data-testid="start-screen">
          <h3>What should we get done?</h3>
          <p>Tell TaskChat about your tasks in plain words. It can add, update, find and complete them.</p>
          <div className="prompt-grid">
            {EXAMPLE_PROMPTS.map((p) => (
              <button key={p.label} type="button" className="prompt-chip" onClick={() => onPrompt(p)} data-testid="start-prompt">
                {p.label}
              </button>
            ))}
          </div>
        </div>
      ) : (
        <ol className="message-items">
          {state.loadingItems && <li className="loading-line">Loading conversation…</li>}
          {state.items.map((item, i) => (
            <Message
              key={item.id}
              item={item}
              streaming={lastAssistantStreaming && i === state.items.length - 1}
            />
          ))}
          {waiting && (
            <li className="msg msg-assistant msg-waiting" data-testid="assistant-progress">
              <span className="typing" aria-hidden="true">
                <i />
                <i />
                <i />
              </span>
              <span className="progress-text" data-testid="tool-progress">
                {state.progress ?? 'Thinking…'}
              </span>
            </li>
          )}
        </ol>
      )}
    </div>
  )
}

const Message = memo(function Message({ item, streaming }: { item: ThreadItem; streaming: boolean }) {
  if (item.type === 'user_message') {
    return (
      <li className={`msg msg-user${item.pending ? ' pending' : ''}`} data-testid="message-user">
        <div className="bubble">{itemText(item)}</div>
      </li>
    )
  }
  if (item.type === 'assistant_message') {
    const text = itemText(item)
    return (
      <li className={`msg msg-assistant${streaming ? ' streaming' : ''}`} data-testid="message-assistant" data-streaming={streaming ? 'true' : undefined}>
        <div className="md">
          <Markdown components={mdComponents}>{text}</Markdown>
        </div>
      </li>
    )
  }
  if (item.type === 'client_tool_call') {
    return (
      <li className="msg msg-tool">
        <span>Tool: {String((item as { name?: unknown }).name ?? '')}</span>
      </li>
    )
  }
  return null
})

function ThreadList({
  threads,
  loaded,
  activeId,
  onOpen,
  onRename,
  onDelete,
}: {
  threads: ThreadMeta[]
  loaded: boolean
  activeId: string | null
  onOpen: (id: string) => void
  onRename: (t: ThreadMeta, title: string) => void
  onDelete: (t: ThreadMeta) => void
}) {
  const [editing, setEditing] = useState<string | null>(null)
  const [confirming, setConfirming] = useState<string | null>(null)
  const [title, setTitle] = useState('')

  if (loaded && threads.length === 0) {
    return (
      <div className="thread-list empty" data-testid="thread-list">
        <p className="muted">No conversations yet.</p>
      </div>
    )
  }

  return (
    <ul className="thread-list" data-testid="thread-list">
      {threads.map((t) => (
        <li key={t.id} className={`thread-row${t.id === activeId ? ' active' : ''}`} data-testid="thread-item">
          {editing === t.id ? (
            <form
              className="thread-rename"
              onSubmit={(e) => {
                e.preventDefault()
                const v = title.trim()
                if (v && v !== t.title) onRename(t, v)
                setEditing(null)
              }}
            >
              <label className="sr-only" htmlFor={`rename-${t.id}`}>
                Conversation title
              </label>
              <input
                id={`rename-${t.id}`}
                value={title}
                autoFocus
                onChange={(e) => setTitle(e.target.value)}
                onBlur={() => setEditing(null)}
                onKeyDown={(e) => {
                  if (e.key === 'Escape') {
                    e.stopPropagation()
                    setEditing(null)
                  }
                }}
                data-testid="thread-rename-input"
              />
            </form>
          ) : confirming === t.id ? (
            <div className="thread-confirm">
              <span>Delete?</span>
              <button
                type="button"
                className="btn btn-small btn-danger"
                onClick={() => {
                  setConfirming(null)
                  onDelete(t)
                }}
                data-testid="thread-delete-confirm"
              >
                Delete
              </button>
              <button type="button" className="btn btn-small" onClick={() => setConfirming(null)}>
                Cancel
              </button>
            </div>
          ) : (
            <>
              <button
                type="button"
                className="thread-open"
                onClick={() => onOpen(t.id)}
                aria-current={t.id === activeId ? 'true' : undefined}
                title={threadTitle(t)}
              >
                {threadTitle(t)}
              </button>
              <span className="row-actions">
                <button
                  type="button"
                  className="icon-btn small"
                  aria-label={`Rename ${threadTitle(t)}`}
                  onClick={() => {
                    setTitle(t.title ?? '')
                    setEditing(t.id)
                  }}
                >
                  <IconEdit />
                </button>
                <button
                  type="button"
                  className="icon-btn small"
                  aria-label={`Delete ${threadTitle(t)}`}
                  onClick={() => setConfirming(t.id)}
                  data-testid="thread-delete"
                >
                  <IconTrash />
                </button>
              </span>
            </>
          )}
        </li>
      ))}
    </ul>
  )
}
