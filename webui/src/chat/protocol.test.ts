// @vitest-environment node
import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '../api/client'
import {
  ChatKitClient,
  type ChatState,
  type StreamEvent,
  chatReducer,
  initialChatState,
  itemText,
  req,
  retryPlan,
  type ThreadMeta,
} from './protocol'
import { applyThreadEvent as applyEvent, keepActive, renamed, without } from './threads'

const applyThreadEvent = (list: ThreadMeta[], e: object) => applyEvent(list, e as StreamEvent)

const enc = new TextEncoder()

/** A Response whose body yields the given string chunks (split anywhere). */
function sseResponse(chunks: string[], init: { status?: number; contentType?: string } = {}): Response {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(enc.encode(c))
      controller.close()
    },
  })
  return new Response(stream, {
    status: init.status ?? 200,
    headers: { 'content-type': init.contentType ?? 'text/event-stream' },
  })
}

/** Resolves to the ApiError a promise rejects with (fails if it resolves). */
async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError)
    return e as ApiError
  }
  throw new Error('expected the promise to reject')
}

function frames(events: object[]): string {
  return events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')
}

/** Split a string into chunks of n characters (to cut frames mid-JSON). */
function chop(s: string, n: number): string[] {
  const out: string[] = []
  for (let i = 0; i < s.length; i += n) out.push(s.slice(i, i + n))
  return out
}

const T = '2026-11-24T10:00:00'
const thread = { id: 'thr_1', title: null, created_at: T, status: { type: 'active' }, items: { data: [], has_more: false } }
const userItem = {
  id: 'msg_u1',
  thread_id: 'thr_1',
  created_at: T,
  type: 'user_message',
  content: [{ type: 'input_text', text: 'Add a task: buy milk' }],
  attachments: [],
  inference_options: {},
}
const asst = (id: string, text = '') => ({
  id,
  thread_id: 'thr_1',
  created_at: T,
  type: 'assistant_message',
  content: text ? [{ type: 'output_text', text, annotations: [] }] : [],
})
const delta = (id: string, d: string) => ({
  type: 'thread.item.updated',
  item_id: id,
  update: { type: 'assistant_message.content_part.text_delta', content_index: 0, delta: d },
})

const happyTurn: object[] = [
  { type: 'thread.created', thread },
  { type: 'thread.item.done', item: userItem },
  { type: 'stream_options', stream_options: { allow_cancel: true } },
  { type: 'progress_update', text: 'Creating task…' },
  { type: 'client_effect', name: 'tasks_changed', data: { ids: ['t1'] } },
  { type: 'thread.item.added', item: asst('msg_a1') },
  {
    type: 'thread.item.updated',
    item_id: 'msg_a1',
    update: { type: 'assistant_message.content_part.added', content_index: 0, content: { type: 'output_text', text: '', annotations: [] } },
  },
  delta('msg_a1', 'Added **buy'),
  delta('msg_a1', ' milk** ✅'),
  { type: 'thread.item.done', item: asst('msg_a1', 'Added **buy milk** ✅') },
  { type: 'thread.updated', thread: { ...thread, title: 'Buy milk' } },
]

function mockFetch(res: Response | (() => Response)) {
  return vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => (typeof res === 'function' ? res() : res))
}

function bodyOf(fetchMock: ReturnType<typeof mockFetch>, call = 0): unknown {
  return JSON.parse(String(fetchMock.mock.calls[call][1]?.body))
}

describe('request shapes', () => {
  it('builds threads.create with a full UserMessageInput', () => {
    expect(req.createThread('hello')).toEqual({
      type: 'threads.create',
      params: {
        input: {
          content: [{ type: 'input_text', text: 'hello' }],
          attachments: [],
          inference_options: {},
          quoted_text: null,
        },
      },
    })
  })

  it('builds list, items, add, update, delete, retry requests', () => {
    expect(req.listThreads()).toEqual({ type: 'threads.list', params: { limit: 20, order: 'desc', after: null } })
    expect(req.listItems('thr_1', 50, 'cur')).toEqual({
      type: 'items.list',
      params: { thread_id: 'thr_1', limit: 50, order: 'asc', after: 'cur' },
    })
    const add = req.addUserMessage('thr_1', 'hi') as { type: string; params: { thread_id: string; input: { content: unknown[] } } }
    expect(add.type).toBe('threads.add_user_message')
    expect(add.params.thread_id).toBe('thr_1')
    expect(add.params.input.content).toEqual([{ type: 'input_text', text: 'hi' }])
    expect(req.renameThread('thr_1', 'New')).toEqual({ type: 'threads.update', params: { thread_id: 'thr_1', title: 'New' } })
    expect(req.deleteThread('thr_1')).toEqual({ type: 'threads.delete', params: { thread_id: 'thr_1' } })
    expect(req.retryAfterItem('thr_1', 'msg_u1')).toEqual({
      type: 'threads.retry_after_item',
      params: { thread_id: 'thr_1', item_id: 'msg_u1' },
    })
  })

  it('POSTs JSON to the endpoint with same-origin credentials', async () => {
    const f = mockFetch(new Response(JSON.stringify({ data: [thread], has_more: false }), { headers: { 'content-type': 'application/json' } }))
    const client = new ChatKitClient('/api/chatkit', f)
    const page = await client.listThreads()
    expect(page.data[0].id).toBe('thr_1')
    const [url, init] = f.mock.calls[0]
    expect(url).toBe('/api/chatkit')
    expect(init?.method).toBe('POST')
    expect(init?.credentials).toBe('same-origin')
    expect((init?.headers as Record<string, string>)['Content-Type']).toBe('application/json')
    expect(bodyOf(f)).toEqual({ type: 'threads.list', params: { limit: 20, order: 'desc', after: null } })
  })

  it('follows items.list pagination', async () => {
    const pages = [
      { data: [userItem], has_more: true, after: 'msg_u1' },
      { data: [asst('msg_a1', 'hi')], has_more: false, after: null },
    ]
    let i = 0
    const f = vi.fn(async () => new Response(JSON.stringify(pages[i++])))
    const items = await new ChatKitClient('/api/chatkit', f).listAllItems('thr_1')
    expect(items.map((x) => x.id)).toEqual(['msg_u1', 'msg_a1'])
    expect(bodyOf(f as never, 1)).toMatchObject({ type: 'items.list', params: { after: 'msg_u1', thread_id: 'thr_1' } })
  })

  it('turns error JSON into ApiError with the server message', async () => {
    const f = mockFetch(new Response(JSON.stringify({ error: { code: 'not_found', message: 'Thread not found' } }), { status: 404 }))
    const err = await rejection(new ChatKitClient('/api/chatkit', f).deleteThread('x'))
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(404)
    expect(err.code).toBe('not_found')
    expect(err.message).toBe('Thread not found')
  })
})

describe('streaming', () => {
  it('parses SSE frames split at arbitrary points, in order', async () => {
    const raw = frames(happyTurn)
    for (const size of [1, 7, 64, raw.length]) {
      const f = mockFetch(() => sseResponse(chop(raw, size)))
      const got: StreamEvent[] = []
      const out = await new ChatKitClient('/api/chatkit', f).stream(req.createThread('x'), (e) => got.push(e))
      expect(out).toEqual({ aborted: false, events: happyTurn.length })
      expect(got.map((e) => e.type)).toEqual(happyTurn.map((e) => (e as { type: string }).type))
    }
  })

  it('handles CRLF line endings and a final frame without blank line', async () => {
    const raw = 'data: {"type":"progress_update","text":"a"}\r\n\r\ndata: {"type":"progress_update","text":"b"}'
    const got: StreamEvent[] = []
    await new ChatKitClient('/api/chatkit', mockFetch(sseResponse([raw]))).stream(req.listThreads(), (e) => got.push(e))
    expect(got).toEqual([
      { type: 'progress_update', text: 'a' },
      { type: 'progress_update', text: 'b' },
    ])
  })

  it('sends the streaming request body and Accept header', async () => {
    const f = mockFetch(sseResponse([frames(happyTurn)]))
    await new ChatKitClient('/api/chatkit', f).stream(req.addUserMessage('thr_1', 'hello'), () => {})
    expect(bodyOf(f)).toMatchObject({
      type: 'threads.add_user_message',
      params: { thread_id: 'thr_1', input: { content: [{ type: 'input_text', text: 'hello' }], attachments: [] } },
    })
    expect((f.mock.calls[0][1]?.headers as Record<string, string>).Accept).toBe('text/event-stream')
  })

  it('throws ApiError on HTTP errors (e.g. 401) before streaming', async () => {
    const f = mockFetch(new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'no' } }), { status: 401 }))
    const err = await rejection(new ChatKitClient('/api/chatkit', f).stream(req.createThread('x'), () => {}))
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(401)
    expect(err.message).toMatch(/Session expired/)
  })

  it('rejects a non-stream answer with the server message', async () => {
    const f = mockFetch(new Response(JSON.stringify({ error: { code: 'x', message: 'No Gemini key set' } }), { headers: { 'content-type': 'application/json' } }))
    const err = await rejection(new ChatKitClient('/api/chatkit', f).stream(req.createThread('x'), () => {}))
    expect(err).toBeInstanceOf(ApiError)
    expect(err.message).toBe('No Gemini key set')
  })

  it('maps network failures to a friendly ApiError', async () => {
    const f = vi.fn(async () => {
      throw new TypeError('Failed to fetch')
    })
    const err = await rejection(new ChatKitClient('/api/chatkit', f).stream(req.createThread('x'), () => {}))
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('network')
  })

  it('stops on abort and reports aborted=true', async () => {
    const controller = new AbortController()
    // A stream that sends one frame and then hangs until aborted.
    const f = vi.fn(async (_i: RequestInfo | URL, init?: RequestInit) => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(enc.encode(frames([{ type: 'progress_update', text: 'working' }])))
          init?.signal?.addEventListener('abort', () => c.error(new DOMException('Aborted', 'AbortError')))
        },
      })
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
    })
    const got: StreamEvent[] = []
    const p = new ChatKitClient('/api/chatkit', f).stream(
      req.createThread('x'),
      (e) => {
        got.push(e)
        controller.abort()
      },
      controller.signal,
    )
    await expect(p).resolves.toEqual({ aborted: true, events: 1 })
    expect(f.mock.calls[0][1]?.signal).toBe(controller.signal)
    expect(got).toHaveLength(1)
  })

  it('ignores malformed frames and keeps going', async () => {
    const raw = 'data: {not json\n\n: comment\n\n' + frames([{ type: 'progress_update', text: 'ok' }])
    const got: StreamEvent[] = []
    await new ChatKitClient('/api/chatkit', mockFetch(sseResponse([raw]))).stream(req.createThread('x'), (e) => got.push(e))
    expect(got).toEqual([{ type: 'progress_update', text: 'ok' }])
  })
})

function run(state: ChatState, events: object[]): ChatState {
  return events.reduce<ChatState>((s, e) => chatReducer(s, { type: 'stream/event', event: e as StreamEvent }), state)
}

describe('state reducer', () => {
  it('turns a full first turn into thread + messages', () => {
    let s = chatReducer(initialChatState, { type: 'send/start', text: 'Add a task: buy milk', tempId: 'tmp1' })
    expect(s.streaming).toBe(true)
    expect(s.items).toHaveLength(1)
    expect(s.items[0]).toMatchObject({ id: 'tmp1', pending: true })

    // mid-stream: progress shown, then cleared once the assistant writes
    const mid = run(s, happyTurn.slice(0, 4))
    expect(mid.progress).toBe('Creating task…')
    expect(mid.activeThreadId).toBe('thr_1')
    expect(mid.items.map((i) => i.id)).toEqual(['msg_u1']) // optimistic replaced by server item

    const partial = run(s, happyTurn.slice(0, 8))
    expect(itemText(partial.items[1])).toBe('Added **buy')
    expect(partial.progress).toBeNull()

    s = run(s, happyTurn)
    s = chatReducer(s, { type: 'stream/end', aborted: false })
    expect(s.streaming).toBe(false)
    expect(s.items.map((i) => [i.type, itemText(i)])).toEqual([
      ['user_message', 'Add a task: buy milk'],
      ['assistant_message', 'Added **buy milk** ✅'],
    ])
    const threads = happyTurn.reduce(applyThreadEvent, [] as ThreadMeta[])
    expect(threads).toHaveLength(1)
    expect(threads[0].title).toBe('Buy milk')
    expect(s.error).toBeNull()
  })

  it('keeps replies of different turns apart (distinct ids)', () => {
    let s = run(initialChatState, happyTurn)
    s = chatReducer(s, { type: 'send/start', text: 'and eggs', tempId: 'tmp2' })
    s = run(s, [
      { type: 'thread.item.done', item: { ...userItem, id: 'msg_u2', content: [{ type: 'input_text', text: 'and eggs' }] } },
      { type: 'thread.item.added', item: asst('msg_a2') },
      delta('msg_a2', 'Added eggs'),
    ])
    expect(s.items.map(itemText)).toEqual(['Add a task: buy milk', 'Added **buy milk** ✅', 'and eggs', 'Added eggs'])
  })

  it('creates an assistant message for an update to an unseen item', () => {
    const s = run({ ...initialChatState, activeThreadId: 'thr_1' }, [delta('msg_x', 'Hi')])
    expect(s.items).toHaveLength(1)
    expect(itemText(s.items[0])).toBe('Hi')
  })

  it("takes a failure's code and wait from the turn_failed effect before its error", () => {
    const s = run({ ...initialChatState, activeThreadId: 'thr_1' }, [
      { type: 'client_effect', name: 'turn_failed', data: { code: 'quota', retry_after: 20 } },
      { type: 'error', code: 'custom', message: 'Quota used up. Try again in 20 seconds.', allow_retry: true },
    ])
    expect(s.error).toEqual({ code: 'quota', message: 'Quota used up. Try again in 20 seconds.', allowRetry: true, retryAfter: 20 })
    expect(s.failure).toBeNull()
    // The next error without an effect keeps ChatKit's code.
    const t = run(s, [{ type: 'error', code: 'stream.error', allow_retry: true }])
    expect(t.error?.code).toBe('stream.error')
    expect(t.error?.retryAfter).toBeNull()
  })

  it('records error events with allow_retry and plans a retry after the user message', () => {
    let s = chatReducer(initialChatState, { type: 'send/start', text: 'Add a task: buy milk', tempId: 'tmp1' })
    s = run(s, [
      { type: 'thread.created', thread },
      { type: 'thread.item.done', item: userItem },
      { type: 'progress_update', text: 'Thinking' },
      { type: 'error', code: 'stream.error', allow_retry: true },
    ])
    s = chatReducer(s, { type: 'stream/end', aborted: false })
    expect(s.error).toEqual({ code: 'stream.error', message: 'An error occurred when generating a response.', allowRetry: true, retryAfter: null })
    expect(s.progress).toBeNull()
    expect(retryPlan(s)).toEqual({ kind: 'retry_after_item', threadId: 'thr_1', itemId: 'msg_u1' })

    // custom message, no retry
    const c = run(initialChatState, [{ type: 'error', code: 'custom', message: 'Gemini key invalid', allow_retry: false }])
    expect(c.error).toEqual({ code: 'custom', message: 'Gemini key invalid', allowRetry: false, retryAfter: null })
  })

  it('retry trims items after the retried user message', () => {
    let s = run(initialChatState, happyTurn)
    s = chatReducer(s, { type: 'retry/start', afterItemId: 'msg_u1' })
    expect(s.items.map((i) => i.id)).toEqual(['msg_u1'])
    expect(s.streaming).toBe(true)
  })

  it('plans a resend when the request failed before anything was stored', () => {
    let s = chatReducer(initialChatState, { type: 'send/start', text: 'hello', tempId: 'tmp1' })
    s = chatReducer(s, { type: 'stream/failed', error: { code: 'network', message: 'lost', allowRetry: true } })
    expect(retryPlan(s)).toEqual({ kind: 'resend', text: 'hello' })
    // Resending does not duplicate the optimistic message
    s = chatReducer(s, { type: 'send/start', text: 'hello', tempId: 'tmp2' })
    expect(s.items.map((i) => i.id)).toEqual(['tmp2'])
  })

  it('drops an unconfirmed optimistic message when the user stops before the server stored it', () => {
    let s = chatReducer(initialChatState, { type: 'send/start', text: 'hello', tempId: 'tmp1' })
    s = chatReducer(s, { type: 'stream/end', aborted: true })
    expect(s.items).toEqual([])
    expect(s.streaming).toBe(false)
  })

  it('ignores items from another thread and hidden items', () => {
    const s = run({ ...initialChatState, activeThreadId: 'thr_2' }, [
      { type: 'thread.item.done', item: userItem },
      { type: 'thread.item.done', item: { id: 'h', thread_id: 'thr_2', created_at: T, type: 'hidden_context_item', content: 'x' } },
    ])
    expect(s.items).toEqual([])
  })

  it('handles notices, removals, rename and delete', () => {
    let s = run(initialChatState, happyTurn)
    s = run(s, [
      { type: 'notice', level: 'warning', message: 'Quota low' },
      { type: 'thread.item.removed', item_id: 'msg_a1' },
    ])
    expect(s.notice).toMatchObject({ level: 'warning', message: 'Quota low' })
    expect(s.items.map((i) => i.id)).toEqual(['msg_u1'])
    const threads = renamed(happyTurn.reduce(applyThreadEvent, [] as ThreadMeta[]), 'thr_1', 'Groceries')
    expect(threads[0].title).toBe('Groceries')
    expect(without(threads, 'thr_1')).toEqual([])
    s = chatReducer(s, { type: 'thread/deleted', threadId: 'thr_1' })
    expect(s.activeThreadId).toBeNull()
    expect(s.items).toEqual([])
  })

  it('keeps the open thread when a stale threads.list lacks it', () => {
    let s = run(initialChatState, happyTurn)
    const before = happyTurn.reduce(applyThreadEvent, [] as ThreadMeta[])
    const stale = [{ id: 'other', created_at: T }]
    expect(keepActive(stale, before, s.activeThreadId).map((t) => t.id)).toEqual(['thr_1', 'other'])
    s = chatReducer(s, { type: 'thread/new' })
    expect(keepActive(stale, before, s.activeThreadId).map((t) => t.id)).toEqual(['other'])
  })

  it('ignores late items.list answers for a thread that is no longer open', () => {
    let s = chatReducer(initialChatState, { type: 'thread/open', threadId: 'a' })
    s = chatReducer(s, { type: 'thread/open', threadId: 'b' })
    s = chatReducer(s, { type: 'thread/items', threadId: 'a', items: [userItem as never] })
    expect(s.items).toEqual([])
    expect(s.loadingItems).toBe(true)
  })
})
