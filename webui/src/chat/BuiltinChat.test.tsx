import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import BuiltinChat from './BuiltinChat'
import { renderWithQuery } from '../test/render'
import { PREPARE_AGAIN_MS } from './prepare'

const enc = new TextEncoder()
const T = '2026-11-24T10:00:00'

function sse(events: object[], hang = false, signal?: AbortSignal | null): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const e of events) c.enqueue(enc.encode(`data: ${JSON.stringify(e)}\n\n`))
      if (hang) signal?.addEventListener('abort', () => c.error(new DOMException('Aborted', 'AbortError')))
      else c.close()
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
}

const thread = { id: 'thr_1', title: 'Groceries', created_at: T, items: { data: [], has_more: false } }
const user = (text: string) => ({
  id: 'msg_u1',
  thread_id: 'thr_1',
  created_at: T,
  type: 'user_message',
  content: [{ type: 'input_text', text }],
  inference_options: {},
})

type Handler = (body: { type: string; params: Record<string, unknown> }, init?: RequestInit) => Response

function installFetch(handler: Handler) {
  const calls: { type: string; params: Record<string, unknown> }[] = []
  const f = vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body))
    calls.push(body)
    return handler(body, init)
  })
  vi.stubGlobal('fetch', f)
  return { f, calls }
}

beforeEach(() => {
  localStorage.clear()
  Element.prototype.scrollTo = () => {}
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('BuiltinChat', () => {
  it('sends with Enter, streams the reply as markdown and fires tasks_changed', async () => {
    const { calls } = installFetch((body) => {
      if (body.type === 'threads.list') return Response.json({ data: [], has_more: false })
      if (body.type === 'threads.create')
        return sse([
          { type: 'thread.created', thread: { ...thread, title: null } },
          { type: 'thread.item.done', item: user('Add milk') },
          { type: 'progress_update', text: 'Creating task…' },
          { type: 'client_effect', name: 'tasks_changed', data: {} },
          { type: 'thread.item.added', item: { id: 'msg_a1', thread_id: 'thr_1', created_at: T, type: 'assistant_message', content: [] } },
          { type: 'thread.item.updated', item_id: 'msg_a1', update: { type: 'assistant_message.content_part.text_delta', content_index: 0, delta: 'Added **milk**' } },
          { type: 'thread.item.updated', item_id: 'msg_a1', update: { type: 'assistant_message.content_part.text_delta', content_index: 0, delta: ' <b>x</b>' } },
          { type: 'thread.item.done', item: { id: 'msg_a1', thread_id: 'thr_1', created_at: T, type: 'assistant_message', content: [{ type: 'output_text', text: 'Added **milk** <b>x</b>', annotations: [] }] } },
          { type: 'thread.updated', thread },
        ])
      return Response.json({ error: { code: 'x', message: 'unexpected' } }, { status: 400 })
    })
    const onTasksChanged = vi.fn()
    renderWithQuery(<BuiltinChat onTasksChanged={onTasksChanged} />)
    await screen.findByTestId('start-screen')

    const input = screen.getByTestId('chat-input') as HTMLTextAreaElement
    fireEvent.change(input, { target: { value: 'Add milk' } })
    // Shift+Enter does not send
    fireEvent.keyDown(input, { key: 'Enter', shiftKey: true })
    expect(calls.filter((c) => c.type === 'threads.create')).toHaveLength(0)
    fireEvent.keyDown(input, { key: 'Enter' })

    const reply = await screen.findByTestId('message-assistant')
    await waitFor(() => expect(reply.textContent).toBe('Added milk <b>x</b>'))
    // markdown rendered, raw HTML not
    expect(reply.querySelector('strong')?.textContent).toBe('milk')
    expect(reply.querySelector('b')).toBeNull()
    expect(screen.getByTestId('message-user').textContent).toBe('Add milk')
    expect(onTasksChanged).toHaveBeenCalled()
    expect(input.value).toBe('')
    const create = calls.find((c) => c.type === 'threads.create')!
    expect(create.params).toEqual({
      input: { content: [{ type: 'input_text', text: 'Add milk' }], attachments: [], inference_options: {}, quoted_text: null },
    })
    await waitFor(() => expect(screen.getByTestId('thread-list').textContent).toContain('Groceries'))
    expect(localStorage.getItem('taskchat.thread')).toBe('thr_1')
    await screen.findByTestId('send-button')
  })

  it('Stop aborts the request and Esc stops too', async () => {
    let signal: AbortSignal | null | undefined
    installFetch((body, init) => {
      if (body.type === 'threads.list') return Response.json({ data: [], has_more: false })
      signal = init?.signal
      return sse([{ type: 'thread.created', thread }, { type: 'thread.item.done', item: user('hi') }, { type: 'progress_update', text: 'Working' }], true, init?.signal)
    })
    renderWithQuery(<BuiltinChat onTasksChanged={() => {}} />)
    const input = await screen.findByTestId('chat-input')
    fireEvent.change(input, { target: { value: 'hi' } })
    fireEvent.click(screen.getByTestId('send-button'))
    const stop = await screen.findByTestId('stop-button')
    await screen.findByText('Working')
    fireEvent.click(stop)
    await screen.findByTestId('send-button')
    expect(signal?.aborted).toBe(true)
    expect(screen.queryByTestId('chat-error')).toBeNull()

    // second turn (add_user_message on the same thread), stopped with Esc
    fireEvent.change(input, { target: { value: 'again' } })
    fireEvent.keyDown(input, { key: 'Enter' })
    await screen.findByTestId('stop-button')
    act(() => {
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
    })
    await screen.findByTestId('send-button')
    expect(signal?.aborted).toBe(true)
  })

  it('shows an error event with Retry, which calls threads.retry_after_item', async () => {
    let turn = 0
    const { calls } = installFetch((body) => {
      if (body.type === 'threads.list') return Response.json({ data: [], has_more: false })
      if (body.type === 'threads.create')
        return sse([
          { type: 'thread.created', thread },
          { type: 'thread.item.done', item: user('hi') },
          { type: 'error', code: 'stream.error', allow_retry: true },
        ])
      turn++
      return sse([
        { type: 'thread.item.done', item: { id: 'msg_a2', thread_id: 'thr_1', created_at: T, type: 'assistant_message', content: [{ type: 'output_text', text: 'Recovered', annotations: [] }] } },
      ])
    })
    renderWithQuery(<BuiltinChat onTasksChanged={() => {}} />)
    const input = await screen.findByTestId('chat-input')
    fireEvent.change(input, { target: { value: 'hi' } })
    fireEvent.keyDown(input, { key: 'Enter' })
    const err = await screen.findByTestId('chat-error')
    expect(err.textContent).toContain('An error occurred')
    fireEvent.click(await screen.findByTestId('retry-button'))
    await screen.findByText('Recovered')
    expect(turn).toBe(1)
    expect(calls.find((c) => c.type === 'threads.retry_after_item')?.params).toEqual({ thread_id: 'thr_1', item_id: 'msg_u1' })
    expect(screen.queryByTestId('chat-error')).toBeNull()
  })

  it('shows HTTP errors from the endpoint (e.g. missing key)', async () => {
    installFetch((body) => {
      if (body.type === 'threads.list') return Response.json({ data: [], has_more: false })
      return Response.json({ error: { code: 'no_api_key', message: 'Add your Gemini API key in Settings.' } }, { status: 400 })
    })
    renderWithQuery(<BuiltinChat onTasksChanged={() => {}} />)
    const input = await screen.findByTestId('chat-input')
    fireEvent.change(input, { target: { value: 'hi' } })
    fireEvent.keyDown(input, { key: 'Enter' })
    const err = await screen.findByTestId('chat-error')
    expect(err.textContent).toContain('Add your Gemini API key in Settings.')
  })

  it('reopens the last thread with items.list', async () => {
    localStorage.setItem('taskchat.thread', 'thr_1')
    const { calls } = installFetch((body) => {
      if (body.type === 'threads.list') return Response.json({ data: [thread], has_more: false })
      if (body.type === 'items.list')
        return Response.json({ data: [user('old question'), { id: 'a', thread_id: 'thr_1', created_at: T, type: 'assistant_message', content: [{ type: 'output_text', text: 'old answer' }] }], has_more: false })
      return Response.json({})
    })
    renderWithQuery(<BuiltinChat onTasksChanged={() => {}} />)
    await screen.findByText('old answer')
    expect(calls.find((c) => c.type === 'items.list')?.params).toMatchObject({ thread_id: 'thr_1', order: 'asc' })
  })

  it('asks the server to prepare a chat turn when the person types, at most every 30 s', async () => {
    const urls: string[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        urls.push(`${init?.method ?? 'GET'} ${String(input)}`)
        if (String(input) === '/api/chat/prepare') return Response.json({ status: 'running' }, { status: 202 })
        return Response.json({ data: [], has_more: false })
      }),
    )
    renderWithQuery(<BuiltinChat onTasksChanged={() => {}} />)
    const input = await screen.findByTestId('chat-input')
    const prepares = () => urls.filter((u) => u === 'POST /api/chat/prepare')
    // Not on opening (the composer has focus then) nor for whitespace: only real typing.
    fireEvent.change(input, { target: { value: '  ' } })
    expect(prepares()).toHaveLength(0)
    fireEvent.change(input, { target: { value: ' a' } })
    fireEvent.change(input, { target: { value: ' ad' } })
    fireEvent.change(input, { target: { value: '' } })
    fireEvent.change(input, { target: { value: 'b' } })
    expect(prepares()).toHaveLength(1)
    // The next message, a while later: asked again (the server may reopen its connection).
    const now = vi.spyOn(Date, 'now').mockReturnValue(Date.now() + PREPARE_AGAIN_MS)
    fireEvent.change(input, { target: { value: 'bu' } })
    expect(prepares()).toHaveLength(2)
    fireEvent.change(input, { target: { value: 'buy' } })
    expect(prepares()).toHaveLength(2)
    now.mockRestore()
  })
})
