// TaskChat's own chat view: speaks the ChatKit protocol to /api/chatkit.
// Used when the ChatKit web component (CDN) is unavailable.

import type { ReactNode } from 'react'
import { Fragment, memo, useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'react'
import type { KeyboardEvent as ReactKeyboardEvent } from 'react'
import Markdown from 'react-markdown'
import { ApiError, api, sessionFetch, type TaskLinkChip } from '../api/client'
import type { ChatTarget } from '../search/targets'
import '../search/search.css'
import { IconClose, IconEdit, IconMenu, IconPlus, IconRetry, IconSend, IconStop, IconTrash } from '../ui/icons'
import { usePrepareChat } from './prepare'
import { EXAMPLE_PROMPTS } from './prompts'
import { WidgetActionContext, type WidgetAction, WidgetCard } from './widgets'
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
  /** Tasks may have changed; `data` is the tasks_changed effect's (with `change_id` to undo). */
  onTasksChanged: (data?: Record<string, unknown>) => void
  /** Open this thread and scroll to the item (search results, task sources). */
  target?: ChatTarget | null
  /** Show a task in the task panel (chips under replies). */
  onOpenTask?: (taskId: string) => void
}

/** A task a reply touched (from task links, or live from the tasks_changed effect). */
interface Touched {
  id: string
  title: string
  action: string
}

/** Chips per item id: each link's turn (user message) → the reply that followed it. */
export function touchedByItem(items: ThreadItem[], links: TaskLinkChip[]): Map<string, Touched[]> {
  const out = new Map<string, Touched[]>()
  const index = new Map(items.map((it, i) => [it.id, i]))
  for (const link of links) {
    const at = link.item_id ? index.get(link.item_id) : undefined
    if (at === undefined) continue
    let target = items[at].id
    for (let i = at + 1; i < items.length && items[i].type !== 'user_message'; i++) {
      if (items[i].type === 'assistant_message') {
        target = items[i].id
        break
      }
    }
    const list = out.get(target) ?? []
    if (!list.some((t) => t.id === link.task_id)) list.push({ id: link.task_id, title: link.title, action: link.action })
    out.set(target, list)
  }
  return out
}

function errMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message
  if (e instanceof Error) return e.message
  return String(e)
}

let tempCounter = 0

export default function BuiltinChat({ onTasksChanged, target, onOpenTask }: Props) {
  const client = useMemo(() => new ChatKitClient('/api/chatkit', sessionFetch), [])
  const [state, dispatch] = useReducer(chatReducer, initialChatState)
  const stateRef = useRef<ChatState>(state)
  stateRef.current = state
  const abortRef = useRef<AbortController | null>(null)
  const [draft, setDraft] = useState('')
  // While the person types, the server gets the turn ready: the first time it rehearses
  // one (a first turn costs several hundred ms more than later ones), later it reopens
  // its connection to Gemini if that sat unused (see ./prepare.ts).
  const prepareChat = usePrepareChat()
  const editDraft = useCallback(
    (text: string) => {
      setDraft(text)
      if (text.trim()) prepareChat()
    },
    [prepareChat],
  )
  const [showThreads, setShowThreads] = useState(false)
  const inputRef = useRef<HTMLTextAreaElement>(null)
  const effectRef = useRef(onTasksChanged)
  effectRef.current = onTasksChanged
  const [links, setLinks] = useState<{ threadId: string; links: TaskLinkChip[] } | null>(null)
  const [liveTouched, setLiveTouched] = useState<Touched[]>([])
  const [scrollTarget, setScrollTarget] = useState<{ itemId: string; nonce: number } | null>(null)

  const loadLinks = useCallback(async (threadId: string | null) => {
    if (!threadId) return
    try {
      const r = await api.threadTaskLinks(threadId)
      setLinks({ threadId, links: r.links ?? [] })
    } catch {
      /* chips are a convenience: leave them out */
    }
    setLiveTouched([])
  }, [])

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
        void loadLinks(threadId)
      } catch (e) {
        dispatch({ type: 'thread/items-failed', threadId, message: errMessage(e) })
      }
    },
    [client, loadLinks],
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
        if (event.type === 'client_effect' && event.name === 'tasks_changed') {
          effectRef.current(event.data)
          const data = (event as { data?: { action?: unknown; tasks?: unknown } }).data
          if (Array.isArray(data?.tasks)) {
            const action = typeof data.action === 'string' ? data.action : 'changed'
            const touched = (data.tasks as { id?: unknown; title?: unknown }[])
              .filter((t) => typeof t?.id === 'string')
              .map((t) => ({ id: String(t.id), title: String(t.title ?? ''), action }))
            setLiveTouched((prev) => [...prev.filter((p) => !touched.some((t) => t.id === p.id)), ...touched])
          }
        }
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
        void loadLinks(stateRef.current.activeThreadId)
        // Tools may have changed tasks even when no effect arrived.
        effectRef.current()
      }
    },
    [client, refreshThreads, loadLinks],
  )

  // Open a thread at an item when asked (search result, a task's "from" link).
  const handledTarget = useRef<number | null>(null)
  useEffect(() => {
    if (!target || handledTarget.current === target.nonce) return
    handledTarget.current = target.nonce
    if (target.itemId) setScrollTarget({ itemId: target.itemId, nonce: target.nonce })
    if (stateRef.current.activeThreadId !== target.threadId || !target.itemId) void openThread(target.threadId)
  }, [target, openThread])

  const touched = useMemo(
    () => (links && links.threadId === state.activeThreadId ? touchedByItem(state.items, links.links) : new Map<string, Touched[]>()),
    [links, state.items, state.activeThreadId],
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

  // A widget's button (confirming or keeping a deletion): the server answers with a stream.
  const runAction = useCallback(
    (itemId: string, action: WidgetAction) => {
      const s = stateRef.current
      if (s.streaming || !s.activeThreadId) return false
      dispatch({ type: 'action/start' })
      void runStream(req.customAction(s.activeThreadId, itemId, action))
      return true
    },
    [runStream],
  )

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

        <WidgetActionContext.Provider value={runAction}>
        <MessageList
          state={state}
          empty={empty}
          touched={touched}
          liveTouched={liveTouched}
          scrollTarget={scrollTarget}
          onOpenTask={onOpenTask}
          onPrompt={(p) => {
          if (p.fill) {
            editDraft(p.fill)
            requestAnimationFrame(() => {
              const el = inputRef.current
              if (el) {
                el.focus()
                el.setSelectionRange(el.value.length, el.value.length)
              }
            })
          } else send(p.prompt)
        }} />
        </WidgetActionContext.Provider>

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
              onChange={(e) => editDraft(e.target.value)}
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
  touched,
  liveTouched,
  scrollTarget,
  onOpenTask,
}: {
  state: ChatState
  empty: boolean
  onPrompt: (p: (typeof EXAMPLE_PROMPTS)[number]) => void
  touched: Map<string, Touched[]>
  liveTouched: Touched[]
  scrollTarget: { itemId: string; nonce: number } | null
  onOpenTask?: (taskId: string) => void
}) {
  const scrollRef = useRef<HTMLDivElement>(null)
  const stick = useRef(true)
  const [flashId, setFlashId] = useState<string | null>(null)
  const doneTarget = useRef<number | null>(null)

  // Scroll to a target item once it is rendered, and flash it.
  useLayoutEffect(() => {
    if (!scrollTarget || doneTarget.current === scrollTarget.nonce) return
    const root = scrollRef.current
    const el = root?.querySelector(`[data-item-id="${CSS.escape(scrollTarget.itemId)}"]`) as HTMLElement | null
    if (!el) return
    doneTarget.current = scrollTarget.nonce
    stick.current = false
    el.scrollIntoView?.({ block: 'center' })
    setFlashId(scrollTarget.itemId)
  }, [scrollTarget, state.items])
  useEffect(() => {
    if (!flashId) return
    const t = setTimeout(() => setFlashId(null), 2600)
    return () => clearTimeout(t)
  }, [flashId])

  const onScroll = () => {
    const el = scrollRef.current
    if (!el) return
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80
  }

  // Opening another thread jumps to its end (unless a target item is being opened).
  useEffect(() => {
    stick.current = !(scrollTarget && doneTarget.current !== scrollTarget.nonce)
    // eslint-disable-next-line react-hooks/exhaustive-deps
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
            <Fragment key={item.id}>
              <Message
                item={item}
                streaming={lastAssistantStreaming && i === state.items.length - 1}
                flash={flashId === item.id}
              />
              <TouchedChips
                user={item.type === 'user_message'}
                touched={
                  i === state.items.length - 1 && item.type === 'assistant_message' && liveTouched.length
                    ? mergeTouched(touched.get(item.id), liveTouched)
                    : touched.get(item.id)
                }
                onOpenTask={onOpenTask}
              />
            </Fragment>
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

function mergeTouched(a: Touched[] | undefined, b: Touched[]): Touched[] {
  const out = [...(a ?? [])]
  for (const t of b) if (!out.some((x) => x.id === t.id)) out.push(t)
  return out
}

const ACTION_LABEL: Record<string, string> = {
  created: 'added',
  updated: 'changed',
  completed: 'done',
  reopened: 'reopened',
  deleted: 'deleted',
}

function TouchedChips({
  touched,
  onOpenTask,
  user,
}: {
  touched?: Touched[]
  onOpenTask?: (id: string) => void
  user?: boolean
}) {
  if (!touched?.length) return null
  return (
    <li className={`msg msg-touched${user ? ' msg-user' : ''}`} data-testid="touched-tasks" aria-label="Tasks this reply changed">
      {touched.map((t) => (
        <button
          key={t.id}
          type="button"
          className="touched-chip"
          disabled={t.action === 'deleted' || !onOpenTask}
          onClick={() => onOpenTask?.(t.id)}
          title={t.action === 'deleted' ? 'Deleted' : 'Show in the task list'}
          data-testid="touched-chip"
        >
          <span className="action">{ACTION_LABEL[t.action] ?? t.action}:</span> {t.title || 'task'}
        </button>
      ))}
    </li>
  )
}

const Message = memo(function Message({
  item,
  streaming,
  flash,
}: {
  item: ThreadItem
  streaming: boolean
  flash?: boolean
}) {
  if (item.type === 'user_message') {
    return (
      <li className={`msg msg-user${item.pending ? ' pending' : ''}${flash ? ' msg-flash' : ''}`} data-testid="message-user" data-item-id={item.id}>
        <div className="bubble">{itemText(item)}</div>
      </li>
    )
  }
  if (item.type === 'assistant_message') {
    const text = itemText(item)
    return (
      <li
        className={`msg msg-assistant${streaming ? ' streaming' : ''}${flash ? ' msg-flash' : ''}`}
        data-testid="message-assistant"
        data-streaming={streaming ? 'true' : undefined}
        data-item-id={item.id}
      >
        <div className="md">
          <Markdown components={mdComponents}>{text}</Markdown>
        </div>
      </li>
    )
  }
  if (item.type === 'widget') return <WidgetCard item={item} disabled={streaming} />
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
