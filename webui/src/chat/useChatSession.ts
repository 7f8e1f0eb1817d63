// The open conversation: its items and the streaming turn (reducer in ./protocol.ts),
// sending, retrying, stopping, widget actions, opening and starting threads.

import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react'
import { ApiError, api, sessionFetch } from '../api/client'
import { errorMessage } from '../api/queryClient'
import { type ChatAction, type ChatError, ChatKitClient, type ChatState, type StreamEvent, chatReducer, initialChatState, req, retryPlan } from './protocol'
import { useThreadChanges, useThreads } from './threads'
import { type Touched, touchedFromEffect, useTaskLinks } from './touched'
import type { WidgetAction } from './widgets'

const THREAD_KEY = 'taskchat.thread'

function remember(threadId: string | null) {
  try {
    if (threadId) localStorage.setItem(THREAD_KEY, threadId)
    else localStorage.removeItem(THREAD_KEY)
  } catch {
    /* storage unavailable: the last thread is just not reopened */
  }
}

function remembered(): string | null {
  try {
    return localStorage.getItem(THREAD_KEY)
  } catch {
    return null
  }
}

let tempCounter = 0

/** This computer has no network at all (the browser's view of the OS's network state). */
export function isOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false
}

export const OFFLINE_MESSAGE = 'You are offline — your message is kept and will be sent when you are back online.'

/** A request that failed before any answer (HTTP error, or no connection at all). */
function requestFailure(e: unknown, status: number): ChatError {
  if (status === 0 && isOffline()) return { code: 'offline', message: OFFLINE_MESSAGE, allowRetry: true }
  return { code: e instanceof ApiError ? e.code : 'network', message: errorMessage(e), allowRetry: status !== 401 && status !== 400 }
}

/** `onTasksChanged` gets each tasks_changed effect's data, and a bare call after every turn. */
export function useChatSession(onTasksChanged: (data?: Record<string, unknown>) => void) {
  const client = useMemo(() => new ChatKitClient('/api/chatkit', sessionFetch), [])
  const [state, dispatchToReact] = useReducer(chatReducer, initialChatState)
  // The latest state at once, not at the next render: a turn's events arrive faster than
  // React renders, and the thread list refetch after it needs the open thread's id.
  const stateRef = useRef<ChatState>(state)
  const dispatch = useCallback((action: ChatAction) => {
    stateRef.current = chatReducer(stateRef.current, action)
    dispatchToReact(action)
  }, [])
  const abortRef = useRef<AbortController | null>(null)
  const stoppedRef = useRef<AbortController | null>(null) // the turn the person stopped
  const effectRef = useRef(onTasksChanged)
  effectRef.current = onTasksChanged
  const [liveTouched, setLiveTouched] = useState<Touched[]>([])

  const threads = useThreads(client, () => stateRef.current.activeThreadId)
  const { onStreamEvent, refresh: refreshThreads } = threads
  const links = useTaskLinks(state.activeThreadId)
  const refreshLinks = links.refresh
  // Live chips give way to the stored links once those are read again.
  useEffect(() => setLiveTouched([]), [links.updatedAt, state.activeThreadId])
  const changes = useThreadChanges(
    client,
    (message) => window.alert(message),
    (id) => dispatch({ type: 'thread/deleted', threadId: id }),
  )

  const openThread = useCallback(
    async (threadId: string) => {
      abortRef.current?.abort()
      dispatch({ type: 'thread/open', threadId })
      remember(threadId)
      try {
        const items = await client.listAllItems(threadId)
        dispatch({ type: 'thread/items', threadId, items })
        void refreshLinks(threadId)
      } catch (e) {
        dispatch({ type: 'thread/items-failed', threadId, message: errorMessage(e) })
      }
    },
    [client, refreshLinks],
  )

  // Once the list is in, reopen the thread that was open last time.
  const reopened = useRef(false)
  useEffect(() => {
    if (reopened.current || !threads.loaded) return
    reopened.current = true
    const saved = remembered()
    if (saved && threads.threads.some((t) => t.id === saved) && !stateRef.current.activeThreadId) void openThread(saved)
  }, [threads.loaded, threads.threads, openThread])
  useEffect(() => () => abortRef.current?.abort(), [])

  const runStream = useCallback(
    async (body: Parameters<ChatKitClient['stream']>[0]) => {
      const controller = new AbortController()
      abortRef.current = controller
      const onEvent = (event: StreamEvent) => {
        dispatch({ type: 'stream/event', event })
        onStreamEvent(event)
        if (event.type === 'client_effect' && event.name === 'tasks_changed') {
          effectRef.current(event.data)
          const touched = touchedFromEffect(event.data)
          if (touched.length) setLiveTouched((prev) => [...prev.filter((p) => !touched.some((t) => t.id === p.id)), ...touched])
        }
        if (event.type === 'thread.created') remember(event.thread.id)
      }
      try {
        const out = await client.stream(body, onEvent, controller.signal)
        // Marked "stopped" only when the person stopped it, not when another thread opened.
        dispatch({ type: 'stream/end', aborted: out.aborted && stoppedRef.current === controller })
      } catch (e) {
        const status = e instanceof ApiError ? e.status : 0
        dispatch({ type: 'stream/failed', error: requestFailure(e, status) })
      } finally {
        if (abortRef.current === controller) abortRef.current = null
        void refreshThreads()
        void refreshLinks(stateRef.current.activeThreadId)
        // Tools may have changed tasks even when no effect arrived.
        effectRef.current()
      }
    },
    [client, onStreamEvent, refreshThreads, refreshLinks],
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
    stoppedRef.current = abortRef.current
    abortRef.current?.abort()
  }, [])

  const retry = useCallback(() => {
    const s = stateRef.current
    const plan = s.streaming ? null : retryPlan(s)
    if (!plan) return
    if (plan.kind === 'retry_after_item') {
      dispatch({ type: 'retry/start', afterItemId: plan.itemId })
      void runStream(req.retryAfterItem(plan.threadId, plan.itemId))
    } else send(plan.text)
  }, [runStream, send])

  /** Edit the last user message and ask again (the answers after it are replaced). */
  const editAndResend = useCallback(
    async (itemId: string, text: string) => {
      const s = stateRef.current
      const t = text.trim()
      if (!t || s.streaming || !s.activeThreadId) return
      const threadId = s.activeThreadId
      dispatch({ type: 'edit/start', itemId, text: t })
      try {
        await api.editMessage(threadId, itemId, t)
      } catch (e) {
        dispatch({ type: 'stream/failed', error: requestFailure(e, e instanceof ApiError ? e.status : 0) })
        // Not stored: show the thread as it is on the server again (the old text).
        void client.listAllItems(threadId).then(
          (items) => dispatch({ type: 'thread/items', threadId, items }),
          () => {},
        )
        return
      }
      await runStream(req.retryAfterItem(threadId, itemId))
    },
    [client, runStream],
  )

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
    remember(null)
  }, [])

  const { remove: removeThread } = changes
  const remove = useCallback(
    (id: string) => {
      if (stateRef.current.activeThreadId === id) abortRef.current?.abort()
      removeThread(id)
    },
    [removeThread],
  )

  return {
    state,
    dispatch,
    threads,
    links: links.links,
    liveTouched,
    openThread,
    send,
    stop,
    retry,
    editAndResend,
    runAction,
    newChat,
    rename: changes.rename,
    remove,
  }
}
