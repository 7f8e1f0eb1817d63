// TaskChat's own chat view: speaks the ChatKit protocol to /api/chatkit.
// Used when the ChatKit web component (CDN) is unavailable.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { ChatTarget } from '../search/targets'
import '../search/search.css'
import { IconMenu, IconPlus } from '../ui/icons'
import { LoadMore } from '../ui/LoadMore'
import { useShortcut } from '../ui/shortcuts'
import { KEY_SAVED_EVENT } from '../settings/KeyForm'
import { ChatBanners } from './ChatBanners'
import { Composer } from './Composer'
import MessageList from './MessageList'
import { usePrepareChat } from './prepare'
import type { EXAMPLE_PROMPTS } from './prompts'
import { threadTitle } from './protocol'
import { ThreadList } from './ThreadList'
import { type Touched, touchedByItem } from './touched'
import { useChatSession } from './useChatSession'
import { WidgetActionContext } from './widgets'

interface Props {
  /** Tasks may have changed; `data` is the tasks_changed effect's (with `change_id` to undo). */
  onTasksChanged: (data?: Record<string, unknown>) => void
  /** Open this thread and scroll to the item (search results, task sources). */
  target?: ChatTarget | null
  /** Show a task in the task panel (chips under replies). */
  onOpenTask?: (taskId: string) => void
  /** Open Settings (a key error's "Open key settings"). */
  onOpenSettings?: () => void
}

export default function BuiltinChat({ onTasksChanged, target, onOpenTask, onOpenSettings }: Props) {
  const chat = useChatSession(onTasksChanged)
  const { state, dispatch, openThread, send, stop, newChat } = chat
  const [draft, setDraft] = useState('')
  const [showThreads, setShowThreads] = useState(false)
  const [scrollTarget, setScrollTarget] = useState<{ itemId: string; nonce: number } | null>(null)
  const inputRef = useRef<HTMLTextAreaElement>(null)
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

  const open = useCallback(
    (threadId: string) => {
      setShowThreads(false)
      void openThread(threadId)
    },
    [openThread],
  )
  const startNew = () => {
    newChat()
    setShowThreads(false)
    inputRef.current?.focus()
  }

  useShortcut(['n'], () => requestAnimationFrame(startNew)) // after App switched to the chat tab

  // Open a thread at an item when asked (search result, a task's "from" link).
  const handledTarget = useRef<number | null>(null)
  useEffect(() => {
    if (!target || handledTarget.current === target.nonce) return
    handledTarget.current = target.nonce
    if (target.itemId) setScrollTarget({ itemId: target.itemId, nonce: target.nonce })
    if (state.activeThreadId !== target.threadId || !target.itemId) open(target.threadId)
  }, [target, open, state.activeThreadId])

  // A key saved (Settings or the welcome step) while a key error waits: one click resends.
  const [keySaved, setKeySaved] = useState(false)
  const keyErrorShown = state.error?.code === 'no_api_key' || state.error?.code === 'key_rejected'
  useEffect(() => {
    setKeySaved(false)
    if (!keyErrorShown) return
    const saved = () => setKeySaved(true)
    window.addEventListener(KEY_SAVED_EVENT, saved)
    return () => window.removeEventListener(KEY_SAVED_EVENT, saved)
  }, [keyErrorShown, state.error])

  // Esc stops streaming from anywhere in the chat.
  useEffect(() => {
    if (!state.streaming) return
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') stop()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [state.streaming, stop])

  const touched = useMemo(() => (state.activeThreadId ? touchedByItem(state.items, chat.links) : new Map<string, Touched[]>()), [chat.links, state.items, state.activeThreadId])
  const onPrompt = (p: (typeof EXAMPLE_PROMPTS)[number]) => {
    if (!p.fill) return send(p.prompt)
    editDraft(p.fill)
    requestAnimationFrame(() => {
      const el = inputRef.current
      el?.focus()
      el?.setSelectionRange(el.value.length, el.value.length)
    })
  }
  const active = chat.threads.threads.find((t) => t.id === state.activeThreadId)
  const title = active ? threadTitle(active) : 'New conversation'

  return (
    <div className={`builtin-chat${showThreads ? ' show-threads' : ''}`} data-testid="builtin-chat">
      <aside className="thread-sidebar" aria-label="Conversations">
        <div className="thread-sidebar-head">
          <button type="button" className="btn btn-primary btn-block" onClick={startNew} data-testid="new-chat-button">
            <IconPlus /> New chat
          </button>
        </div>
        <ThreadList
          threads={chat.threads.threads}
          loaded={chat.threads.loaded}
          activeId={state.activeThreadId}
          onOpen={open}
          onRename={(t, title) => chat.rename({ id: t.id, title })}
          onDelete={(t) => chat.remove(t.id)}
          footer={
            chat.threads.hasMore && (
            <LoadMore
              shown={chat.threads.threads.length}
              hasMore={chat.threads.hasMore}
              loading={chat.threads.loadingMore}
              onMore={() => void chat.threads.loadMore()}
              noun="conversations"
              testId="threads-more"
            />
            )
          }
        />
      </aside>
      <div className="thread-scrim" onClick={() => setShowThreads(false)} aria-hidden="true" />
      <section className="chat-main" aria-label="Chat">
        <header className="chat-head">
          <button type="button" className="icon-btn threads-toggle" aria-label="Show conversations" aria-expanded={showThreads} onClick={() => setShowThreads((v) => !v)}>
            <IconMenu />
          </button>
          <h2 className="chat-title" title={title}>
            {title}
          </h2>
          <button type="button" className="icon-btn" aria-label="New chat" onClick={startNew}>
            <IconPlus />
          </button>
        </header>
        <WidgetActionContext.Provider value={chat.runAction}>
          <MessageList
            state={state}
            empty={state.items.length === 0 && !state.loadingItems}
            touched={touched}
            liveTouched={chat.liveTouched}
            scrollTarget={scrollTarget}
            onOpenTask={onOpenTask}
            onPrompt={onPrompt}
            onEdit={(itemId, text) => void chat.editAndResend(itemId, text)}
          />
        </WidgetActionContext.Provider>
        <div className="chat-footer">
          <ChatBanners
            state={state}
            onRetry={chat.retry}
            onRegenerate={chat.retry}
            onOpenSettings={onOpenSettings}
            keySaved={keySaved}
            onDismissNotice={() => dispatch({ type: 'notice/dismiss' })}
            onDismissError={() => dispatch({ type: 'error/dismiss' })}
          />
          <Composer draft={draft} onDraft={editDraft} streaming={state.streaming} onSend={send} onStop={stop} inputRef={inputRef} />
          <p className="composer-hint">Enter to send · Shift+Enter for a new line · Esc to stop</p>
        </div>
      </section>
    </div>
  )
}
