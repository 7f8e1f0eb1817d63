// ChatKit protocol client (the subset TaskChat's built-in chat view needs).
// Mirrors chatkit-python's types.py / server.py: one endpoint, JSON request
// bodies `{type, params}`; non-streaming requests answer JSON, streaming ones
// answer `text/event-stream` with `data: <ThreadStreamEvent JSON>` lines.
// Everything here is framework-free and unit-tested.

import { createParser } from 'eventsource-parser'
import { ApiError, errorFromResponse } from '../api/client'

// ---------------------------------------------------------------- types

export interface Page<T> {
  data: T[]
  has_more: boolean
  after?: string | null
}

export interface ThreadMeta {
  id: string
  title?: string | null
  created_at: string
  status?: { type: 'active' | 'locked' | 'closed'; reason?: string | null }
}

export interface UserTextContent {
  type: 'input_text'
  text: string
}
export interface UserTagContent {
  type: 'input_tag'
  id: string
  text: string
  data?: Record<string, unknown>
}
export type UserContent = UserTextContent | UserTagContent

export interface AssistantContent {
  type: 'output_text'
  text: string
  annotations?: unknown[]
}

interface ItemBase {
  id: string
  thread_id: string
  created_at: string
}
export interface UserMessageItem extends ItemBase {
  type: 'user_message'
  content: UserContent[]
  attachments?: unknown[]
  quoted_text?: string | null
  inference_options?: Record<string, unknown>
  /** Client-only: optimistic item not yet confirmed by the server. */
  pending?: boolean
}
export interface AssistantMessageItem extends ItemBase {
  type: 'assistant_message'
  content: AssistantContent[]
}
export interface OtherItem extends ItemBase {
  type:
    | 'client_tool_call'
    | 'widget'
    | 'generated_image'
    | 'structured_input'
    | 'workflow'
    | 'task'
    | 'end_of_turn'
    | 'hidden_context_item'
    | 'sdk_hidden_context'
  [k: string]: unknown
}
export type ThreadItem = UserMessageItem | AssistantMessageItem | OtherItem

export type ItemUpdate =
  | { type: 'assistant_message.content_part.added'; content_index: number; content: AssistantContent }
  | { type: 'assistant_message.content_part.text_delta'; content_index: number; delta: string }
  | { type: 'assistant_message.content_part.annotation_added'; content_index: number; annotation_index: number; annotation: unknown }
  | { type: 'assistant_message.content_part.done'; content_index: number; content: AssistantContent }
  | { type: string; [k: string]: unknown }

export type StreamEvent =
  | { type: 'thread.created'; thread: ThreadMeta }
  | { type: 'thread.updated'; thread: ThreadMeta }
  | { type: 'thread.item.added'; item: ThreadItem }
  | { type: 'thread.item.updated'; item_id: string; update: ItemUpdate }
  | { type: 'thread.item.done'; item: ThreadItem }
  | { type: 'thread.item.removed'; item_id: string }
  | { type: 'thread.item.replaced'; item: ThreadItem }
  | { type: 'stream_options'; stream_options: { allow_cancel: boolean } }
  | { type: 'progress_update'; text: string; icon?: string | null }
  | { type: 'client_effect'; name: string; data?: Record<string, unknown> }
  | { type: 'error'; code?: string; message?: string | null; allow_retry?: boolean }
  | { type: 'notice'; level: 'info' | 'warning' | 'danger'; message: string; title?: string | null }

// ---------------------------------------------------------------- requests

export interface UserMessageInput {
  content: UserContent[]
  attachments: string[]
  inference_options: Record<string, unknown>
  quoted_text: string | null
}

export type ChatKitRequest =
  | { type: 'threads.list'; params: { limit: number; order: 'asc' | 'desc'; after: string | null } }
  | { type: 'threads.get_by_id'; params: { thread_id: string } }
  | { type: 'items.list'; params: { thread_id: string; limit: number; order: 'asc' | 'desc'; after: string | null } }
  | { type: 'threads.create'; params: { input: UserMessageInput } }
  | { type: 'threads.add_user_message'; params: { thread_id: string; input: UserMessageInput } }
  | { type: 'threads.update'; params: { thread_id: string; title: string } }
  | { type: 'threads.delete'; params: { thread_id: string } }
  | { type: 'threads.retry_after_item'; params: { thread_id: string; item_id: string } }
  | {
      type: 'threads.custom_action'
      params: { thread_id: string; item_id: string | null; action: { type: string; payload?: unknown } }
    }

export const STREAMING_TYPES = new Set([
  'threads.create',
  'threads.add_user_message',
  'threads.retry_after_item',
  'threads.custom_action',
])

export function userInput(text: string): UserMessageInput {
  return {
    content: [{ type: 'input_text', text }],
    attachments: [],
    inference_options: {},
    quoted_text: null,
  }
}

export const req = {
  listThreads: (limit = 20, after: string | null = null): ChatKitRequest => ({
    type: 'threads.list',
    params: { limit, order: 'desc', after },
  }),
  listItems: (threadId: string, limit = 100, after: string | null = null): ChatKitRequest => ({
    type: 'items.list',
    params: { thread_id: threadId, limit, order: 'asc', after },
  }),
  createThread: (text: string): ChatKitRequest => ({
    type: 'threads.create',
    params: { input: userInput(text) },
  }),
  addUserMessage: (threadId: string, text: string): ChatKitRequest => ({
    type: 'threads.add_user_message',
    params: { thread_id: threadId, input: userInput(text) },
  }),
  renameThread: (threadId: string, title: string): ChatKitRequest => ({
    type: 'threads.update',
    params: { thread_id: threadId, title },
  }),
  deleteThread: (threadId: string): ChatKitRequest => ({
    type: 'threads.delete',
    params: { thread_id: threadId },
  }),
  retryAfterItem: (threadId: string, itemId: string): ChatKitRequest => ({
    type: 'threads.retry_after_item',
    params: { thread_id: threadId, item_id: itemId },
  }),
  /** A widget button (e.g. confirming a deletion): streams like a message. */
  customAction: (threadId: string, itemId: string | null, action: { type: string; payload?: unknown }): ChatKitRequest => ({
    type: 'threads.custom_action',
    params: { thread_id: threadId, item_id: itemId, action },
  }),
}

// ---------------------------------------------------------------- transport

export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>

export interface StreamOutcome {
  /** true when the caller aborted (Stop). */
  aborted: boolean
  /** number of events received */
  events: number
}

export class ChatKitClient {
  readonly url: string
  private readonly fetchImpl: FetchLike
  constructor(url = '/api/chatkit', fetchImpl?: FetchLike) {
    this.url = url
    this.fetchImpl = fetchImpl ?? ((input, init) => fetch(input, init))
  }

  private post(body: ChatKitRequest, signal?: AbortSignal, accept = 'application/json'): Promise<Response> {
    return this.fetchImpl(this.url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: accept },
      body: JSON.stringify(body),
      signal,
    })
  }

  /** Non-streaming request: resolves to the parsed JSON body. */
  async request<T = unknown>(body: ChatKitRequest, signal?: AbortSignal): Promise<T> {
    const res = await this.post(body, signal)
    if (!res.ok) throw await errorFromResponse(res)
    const text = await res.text()
    return (text ? JSON.parse(text) : {}) as T
  }

  listThreads(limit = 20, after: string | null = null): Promise<Page<ThreadMeta>> {
    return this.request<Page<ThreadMeta>>(req.listThreads(limit, after))
  }

  /** All items of a thread, oldest first (follows pagination, bounded). */
  async listAllItems(threadId: string, signal?: AbortSignal, maxPages = 20): Promise<ThreadItem[]> {
    const out: ThreadItem[] = []
    let after: string | null = null
    for (let i = 0; i < maxPages; i++) {
      const page: Page<ThreadItem> = await this.request<Page<ThreadItem>>(req.listItems(threadId, 100, after), signal)
      out.push(...(page.data ?? []))
      if (!page.has_more || !page.after || page.after === after) break
      after = page.after
    }
    return out
  }

  renameThread(threadId: string, title: string): Promise<ThreadMeta> {
    return this.request<ThreadMeta>(req.renameThread(threadId, title))
  }

  deleteThread(threadId: string): Promise<unknown> {
    return this.request(req.deleteThread(threadId))
  }

  /**
   * Streaming request. Calls onEvent for every ThreadStreamEvent in order.
   * Resolves `{aborted: true}` when `signal` aborts; throws ApiError on HTTP
   * errors and on a broken stream.
   */
  async stream(
    body: ChatKitRequest,
    onEvent: (ev: StreamEvent) => void,
    signal?: AbortSignal,
  ): Promise<StreamOutcome> {
    let events = 0
    try {
      const res = await this.post(body, signal, 'text/event-stream')
      if (!res.ok) throw await errorFromResponse(res)
      const ctype = res.headers.get('content-type') ?? ''
      if (!ctype.includes('text/event-stream')) {
        // A JSON answer where a stream was expected: surface it as an error.
        const text = await res.text()
        let message = 'The server did not answer with a stream.'
        try {
          const j = JSON.parse(text) as { error?: { message?: string } }
          if (j?.error?.message) message = j.error.message
        } catch {
          /* keep default */
        }
        throw new ApiError(res.status, 'bad_stream', message)
      }
      if (!res.body) throw new ApiError(res.status, 'bad_stream', 'Empty response stream.')
      const parser = createParser({
        onEvent: (msg) => {
          if (!msg.data) return
          let ev: StreamEvent
          try {
            ev = JSON.parse(msg.data) as StreamEvent
          } catch {
            return // ignore malformed frames
          }
          if (!ev || typeof ev !== 'object' || typeof (ev as { type?: unknown }).type !== 'string') return
          events++
          onEvent(ev)
        },
      })
      const reader = res.body.getReader()
      const decoder = new TextDecoder()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        parser.feed(decoder.decode(value, { stream: true }))
      }
      const tail = decoder.decode()
      if (tail) parser.feed(tail)
      // Flush a final event that was not terminated by a blank line.
      parser.feed('\n\n')
      return { aborted: false, events }
    } catch (e) {
      if (signal?.aborted || isAbortError(e)) return { aborted: true, events }
      if (e instanceof ApiError) throw e
      throw new ApiError(0, 'network', 'Connection to TaskChat lost. Check that the app is still running.')
    }
  }
}

export function isAbortError(e: unknown): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    ((e as { name?: string }).name === 'AbortError' || (e as { code?: number }).code === 20)
  )
}

// ---------------------------------------------------------------- state

export interface ChatError {
  code: string
  message: string
  allowRetry: boolean
  /** Seconds until a retry can succeed (a quota's wait); the chat counts down, then retries. */
  retryAfter?: number | null
}

export interface ChatNotice {
  level: 'info' | 'warning' | 'danger'
  message: string
  title?: string | null
}

/** The open conversation and its turn; the thread list is server state (./threads.ts). */
export interface ChatState {
  activeThreadId: string | null
  items: ThreadItem[]
  loadingItems: boolean
  streaming: boolean
  /** Latest tool progress text (cleared when the assistant starts writing). */
  progress: string | null
  error: ChatError | null
  notice: ChatNotice | null
  /** Text of the last submitted message (to retry when nothing was stored). */
  lastText: string | null
  allowCancel: boolean
  /** The last turn was stopped by the person (shown with Regenerate). */
  stopped: boolean
  /** The server's code and wait for the error event that follows (client_effect turn_failed). */
  failure: { code: string; retryAfter: number | null } | null
}

export const initialChatState: ChatState = {
  activeThreadId: null,
  items: [],
  loadingItems: false,
  streaming: false,
  progress: null,
  error: null,
  notice: null,
  lastText: null,
  allowCancel: true,
  stopped: false,
  failure: null,
}

export type ChatAction =
  | { type: 'thread/new' }
  | { type: 'thread/open'; threadId: string }
  | { type: 'thread/items'; threadId: string; items: ThreadItem[] }
  | { type: 'thread/items-failed'; threadId: string; message: string }
  | { type: 'thread/deleted'; threadId: string }
  | { type: 'send/start'; text: string; tempId: string }
  | { type: 'retry/start'; afterItemId: string }
  | { type: 'edit/start'; itemId: string; text: string }
  | { type: 'action/start' }
  | { type: 'stream/event'; event: StreamEvent }
  | { type: 'stream/end'; aborted: boolean }
  | { type: 'stream/failed'; error: ChatError }
  | { type: 'error/dismiss' }
  | { type: 'notice/dismiss' }

const HIDDEN_TYPES = new Set(['hidden_context_item', 'sdk_hidden_context', 'end_of_turn'])

export const DEFAULT_ERROR_MESSAGE = 'An error occurred when generating a response.'

function upsertItem(items: ThreadItem[], item: ThreadItem): ThreadItem[] {
  if (HIDDEN_TYPES.has(item.type)) return items
  const idx = items.findIndex((i) => i.id === item.id)
  if (idx >= 0) {
    const next = items.slice()
    next[idx] = item
    return next
  }
  if (item.type === 'user_message') {
    // Replace the optimistic copy of this message, if any.
    const p = items.findIndex((i) => i.type === 'user_message' && (i as UserMessageItem).pending)
    if (p >= 0) {
      const next = items.slice()
      next[p] = item
      return next
    }
  }
  return [...items, item]
}

function applyUpdate(item: AssistantMessageItem, update: ItemUpdate): AssistantMessageItem {
  const u = update as { type: string; content_index?: number; delta?: string; content?: AssistantContent }
  const ci = typeof u.content_index === 'number' ? u.content_index : 0
  const content = item.content.slice()
  while (content.length <= ci) content.push({ type: 'output_text', text: '', annotations: [] })
  switch (u.type) {
    case 'assistant_message.content_part.added':
    case 'assistant_message.content_part.done':
      if (u.content) content[ci] = u.content
      break
    case 'assistant_message.content_part.text_delta':
      content[ci] = { ...content[ci], text: content[ci].text + (u.delta ?? '') }
      break
    default:
      return item
  }
  return { ...item, content }
}

export function applyStreamEvent(state: ChatState, ev: StreamEvent): ChatState {
  switch (ev.type) {
    case 'thread.created': {
      const items = state.items.map((i) => ({ ...i, thread_id: ev.thread.id }))
      return { ...state, activeThreadId: ev.thread.id, items }
    }
    case 'thread.item.added':
    case 'thread.item.done':
    case 'thread.item.replaced': {
      if (state.activeThreadId && ev.item.thread_id && ev.item.thread_id !== state.activeThreadId) return state
      const progress = ev.item.type === 'assistant_message' ? null : state.progress
      return { ...state, items: upsertItem(state.items, ev.item), progress }
    }
    case 'thread.item.updated': {
      let idx = state.items.findIndex((i) => i.id === ev.item_id)
      let items = state.items
      if (idx < 0) {
        if (!String(ev.update.type).startsWith('assistant_message.')) return state
        // Update for an item we never saw being added: start it.
        const stub: AssistantMessageItem = {
          id: ev.item_id,
          thread_id: state.activeThreadId ?? '',
          created_at: new Date().toISOString(),
          type: 'assistant_message',
          content: [],
        }
        items = [...items, stub]
        idx = items.length - 1
      }
      const item = items[idx]
      if (item.type !== 'assistant_message') return state
      const next = items.slice()
      next[idx] = applyUpdate(item, ev.update)
      return { ...state, items: next, progress: null }
    }
    case 'thread.item.removed':
      return { ...state, items: state.items.filter((i) => i.id !== ev.item_id) }
    case 'stream_options':
      return { ...state, allowCancel: ev.stream_options?.allow_cancel !== false }
    case 'progress_update':
      return { ...state, progress: ev.text || null }
    case 'error':
      return {
        ...state,
        progress: null,
        failure: null,
        error: {
          code: state.failure?.code ?? ev.code ?? 'custom',
          message: ev.message || DEFAULT_ERROR_MESSAGE,
          allowRetry: ev.allow_retry === true,
          retryAfter: state.failure?.retryAfter ?? null,
        },
      }
    case 'notice':
      return { ...state, notice: { level: ev.level ?? 'info', message: ev.message, title: ev.title ?? null } }
    case 'client_effect':
      if (ev.name === 'turn_failed') {
        const d = ev.data ?? {}
        const wait = typeof d.retry_after === 'number' && d.retry_after > 0 ? d.retry_after : null
        return { ...state, failure: { code: typeof d.code === 'string' ? d.code : 'custom', retryAfter: wait } }
      }
      return state
    default:
      return state
  }
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'thread/new':
      return {
        ...state,
        stopped: false,
        activeThreadId: null,
        items: [],
        error: null,
        notice: null,
        progress: null,
        loadingItems: false,
      }
    case 'thread/open':
      return {
        ...state,
        stopped: false,
        activeThreadId: action.threadId,
        items: [],
        loadingItems: true,
        error: null,
        notice: null,
        progress: null,
      }
    case 'thread/items':
      if (action.threadId !== state.activeThreadId) return state
      return { ...state, items: action.items.filter((i) => !HIDDEN_TYPES.has(i.type)), loadingItems: false }
    case 'thread/items-failed':
      if (action.threadId !== state.activeThreadId) return state
      return {
        ...state,
        loadingItems: false,
        error: { code: 'load_failed', message: action.message, allowRetry: false },
      }
    case 'thread/deleted':
      if (state.activeThreadId !== action.threadId) return state
      return { ...state, activeThreadId: null, items: [], error: null, progress: null }
    case 'send/start': {
      const optimistic: UserMessageItem = {
        id: action.tempId,
        thread_id: state.activeThreadId ?? '',
        created_at: new Date().toISOString(),
        type: 'user_message',
        content: [{ type: 'input_text', text: action.text }],
        pending: true,
      }
      return {
        ...state,
        items: [...state.items.filter((i) => !(i.type === 'user_message' && i.pending)), optimistic],
        streaming: true,
        progress: null,
        error: null,
        notice: null,
        lastText: action.text,
        allowCancel: true,
        stopped: false,
      }
    }
    case 'retry/start': {
      const idx = state.items.findIndex((i) => i.id === action.afterItemId)
      const items = idx >= 0 ? state.items.slice(0, idx + 1) : state.items
      return { ...state, items, streaming: true, progress: null, error: null, notice: null, stopped: false }
    }
    case 'edit/start': {
      // The edited message stays, with its new text; the answers after it go.
      const idx = state.items.findIndex((i) => i.id === action.itemId)
      if (idx < 0) return state
      const edited: UserMessageItem = { ...(state.items[idx] as UserMessageItem), content: [{ type: 'input_text', text: action.text }] }
      const items = [...state.items.slice(0, idx), edited]
      return { ...state, items, streaming: true, progress: null, error: null, notice: null, stopped: false, lastText: action.text }
    }
    case 'action/start':
      return { ...state, streaming: true, progress: null, error: null, notice: null, stopped: false }
    case 'stream/event':
      return applyStreamEvent(state, action.event)
    case 'stream/end': {
      // Drop an optimistic message the server never confirmed, unless we
      // show an error for it (then the user can retry it).
      const keepPending = state.error !== null
      const items = keepPending ? state.items : state.items.filter((i) => !(i.type === 'user_message' && i.pending))
      return { ...state, streaming: false, progress: null, items, stopped: action.aborted }
    }
    case 'stream/failed':
      return { ...state, streaming: false, progress: null, error: action.error }
    case 'error/dismiss':
      return { ...state, error: null }
    case 'notice/dismiss':
      return { ...state, notice: null }
  }
}

/**
 * What "Retry" should do for the current state: re-run after the last
 * stored user message, or re-send the text when nothing was stored.
 */
export function retryPlan(
  state: ChatState,
): { kind: 'retry_after_item'; threadId: string; itemId: string } | { kind: 'resend'; text: string } | null {
  const lastUser = [...state.items].reverse().find((i) => i.type === 'user_message') as UserMessageItem | undefined
  if (lastUser && !lastUser.pending && state.activeThreadId) {
    return { kind: 'retry_after_item', threadId: state.activeThreadId, itemId: lastUser.id }
  }
  if (state.lastText) return { kind: 'resend', text: state.lastText }
  return null
}

/** Plain text of a message item. */
export function itemText(item: ThreadItem): string {
  if (item.type === 'user_message') {
    return (item as UserMessageItem).content.map((c) => c.text).join('')
  }
  if (item.type === 'assistant_message') {
    return (item as AssistantMessageItem).content.map((c) => c.text).join('\n\n')
  }
  return ''
}

export function threadTitle(t: ThreadMeta): string {
  return t.title?.trim() || 'New conversation'
}
