import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { renderWithQuery } from '../test/render'
import { KEY_SAVED_EVENT } from '../settings/KeyForm'
import BuiltinChat from './BuiltinChat'

const enc = new TextEncoder()
const T = '2026-11-24T10:00:00'
const thread = { id: 'thr_1', title: 'Hi', created_at: T, items: { data: [], has_more: false } }
const user = { id: 'msg_u1', thread_id: 'thr_1', created_at: T, type: 'user_message', content: [{ type: 'input_text', text: 'hi' }], inference_options: {} }
const reply = (id: string, text: string) => ({ id, thread_id: 'thr_1', created_at: T, type: 'assistant_message', content: [{ type: 'output_text', text, annotations: [] }] })

function sse(events: object[], hangOn?: AbortSignal | null): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const e of events) c.enqueue(enc.encode(`data: ${JSON.stringify(e)}\n\n`))
      if (hangOn) hangOn.addEventListener('abort', () => c.error(new DOMException('Aborted', 'AbortError')))
      else c.close()
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
}

let calls: { type: string; params: Record<string, unknown> }[]

beforeEach(() => {
  localStorage.clear()
  Element.prototype.scrollTo = () => {}
  calls = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body))
      calls.push(body)
      if (body.type === 'threads.list') return Response.json({ data: [], has_more: false })
      if (body.type === 'threads.create') {
        const partial = { type: 'thread.item.updated', item_id: 'msg_a1', update: { type: 'assistant_message.content_part.text_delta', content_index: 0, delta: 'Half a' } }
        return sse([{ type: 'thread.created', thread }, { type: 'thread.item.done', item: user }, partial], init?.signal)
      }
      return sse([{ type: 'thread.item.done', item: reply('msg_a2', 'A whole **reply**') }])
    }),
  )
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('steering a reply', () => {
  it('marks a stopped reply; Regenerate asks again after the same message', async () => {
    renderWithQuery(<BuiltinChat onTasksChanged={() => {}} />)
    const input = await screen.findByTestId('chat-input')
    fireEvent.change(input, { target: { value: 'hi' } })
    fireEvent.keyDown(input, { key: 'Enter' })
    await screen.findByText('Half a')
    fireEvent.click(screen.getByTestId('stop-button'))
    expect((await screen.findByTestId('stopped-mark')).textContent).toContain('You stopped this reply.')
    fireEvent.click(screen.getByTestId('regenerate-button'))
    await screen.findByText('reply')
    expect(calls.find((c) => c.type === 'threads.retry_after_item')?.params).toEqual({ thread_id: 'thr_1', item_id: 'msg_u1' })
    expect(screen.queryByTestId('stopped-mark')).toBeNull()
    expect(screen.queryByText('Half a')).toBeNull()
  })

  it('copies a finished reply as its Markdown text', async () => {
    const writeText = vi.fn(async () => {})
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
    renderWithQuery(<BuiltinChat onTasksChanged={() => {}} />)
    const input = await screen.findByTestId('chat-input')
    fireEvent.change(input, { target: { value: 'hi' } })
    fireEvent.keyDown(input, { key: 'Enter' })
    await screen.findByText('Half a')
    expect(screen.queryByTestId('copy-reply')).toBeNull() // not while it streams
    fireEvent.click(screen.getByTestId('stop-button'))
    fireEvent.click(await screen.findByTestId('regenerate-button'))
    fireEvent.click(await screen.findByTestId('copy-reply'))
    expect(writeText).toHaveBeenCalledWith('A whole **reply**')
    await waitFor(() => expect(screen.getByTestId('copy-reply').textContent).toBe('Copied'))
  })
})

describe('key errors', () => {
  it('offer Open key settings (no Retry that fails again), and resend once a key is saved', async () => {
    let keySet = false
    vi.stubGlobal(
      'fetch',
      vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
        const body = JSON.parse(String(init?.body))
        calls.push(body)
        if (body.type === 'threads.list') return Response.json({ data: [], has_more: false })
        if (!keySet) return Response.json({ error: { code: 'no_api_key', message: 'Add your Gemini API key in Settings.' } }, { status: 400 })
        return sse([{ type: 'thread.created', thread }, { type: 'thread.item.done', item: user }, { type: 'thread.item.done', item: reply('msg_a1', 'Hello there') }])
      }),
    )
    const onOpenSettings = vi.fn()
    renderWithQuery(<BuiltinChat onTasksChanged={() => {}} onOpenSettings={onOpenSettings} />)
    const input = await screen.findByTestId('chat-input')
    fireEvent.change(input, { target: { value: 'hi' } })
    fireEvent.keyDown(input, { key: 'Enter' })
    await screen.findByTestId('chat-error')
    expect(screen.getByTestId('message-user').textContent).toBe('hi') // the text is kept
    fireEvent.click(screen.getByTestId('open-key-settings'))
    expect(onOpenSettings).toHaveBeenCalledTimes(1)
    expect(screen.queryByTestId('retry-button')).toBeNull()
    keySet = true // saved in Settings, which says so
    act(() => void window.dispatchEvent(new CustomEvent(KEY_SAVED_EVENT)))
    fireEvent.click(await screen.findByTestId('resend-button'))
    await screen.findByText('Hello there')
    expect(calls.filter((c) => c.type === 'threads.create')).toHaveLength(2)
    expect(screen.queryByTestId('chat-error')).toBeNull()
  })
})

describe('edit and resend', () => {
  const stubEdit = (editStatus: number) => {
    const seen: { url: string; body: Record<string, unknown> }[] = []
    let edited = false
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        const url = String(input)
        const body = JSON.parse(String(init?.body))
        seen.push({ url, body })
        if (url.includes('/api/chat/threads/')) {
          if (editStatus !== 204) return Response.json({ error: { code: 'conflict', message: 'Only the last message you sent can be edited.' } }, { status: editStatus })
          edited = true
          return new Response(null, { status: 204 })
        }
        if (body.type === 'threads.list') return Response.json({ data: [], has_more: false })
        if (body.type === 'items.list') return Response.json({ data: [user, reply('msg_a1', 'Hello there')], has_more: false })
        if (body.type === 'threads.retry_after_item') {
          const u = { ...user, content: [{ type: 'input_text', text: edited ? 'hi again' : 'hi' }] }
          return sse([{ type: 'thread.item.done', item: u }, { type: 'thread.item.done', item: reply('msg_a2', 'Hi again!') }])
        }
        return sse([{ type: 'thread.created', thread }, { type: 'thread.item.done', item: user }, { type: 'thread.item.done', item: reply('msg_a1', 'Hello there') }])
      }),
    )
    return seen
  }
  const sendAndEdit = async (text: string) => {
    renderWithQuery(<BuiltinChat onTasksChanged={() => {}} />)
    const input = await screen.findByTestId('chat-input')
    fireEvent.change(input, { target: { value: 'hi' } })
    fireEvent.keyDown(input, { key: 'Enter' })
    await screen.findByText('Hello there')
    fireEvent.click(await screen.findByTestId('edit-message'))
    const box = screen.getByTestId('edit-input')
    expect((box as HTMLTextAreaElement).value).toBe('hi')
    fireEvent.change(box, { target: { value: text } })
    fireEvent.keyDown(box, { key: 'Enter' })
  }

  it('stores the new text, then asks again after it', async () => {
    const seen = stubEdit(204)
    await sendAndEdit('hi again')
    await screen.findByText('Hi again!')
    const put = seen.find((s) => s.url.includes('/api/chat/threads/'))
    expect(put?.url).toBe('/api/chat/threads/thr_1/items/msg_u1')
    expect(put?.body).toEqual({ text: 'hi again' })
    expect(seen.filter((s) => s.body.type === 'threads.retry_after_item')).toHaveLength(1)
    expect(screen.getAllByTestId('message-user').map((m) => m.textContent)).toEqual(['hi again'])
    expect(screen.queryByText('Hello there')).toBeNull()
  })

  it('says so when the edit is refused and shows the stored text again', async () => {
    const seen = stubEdit(409)
    await sendAndEdit('hi again')
    expect((await screen.findByTestId('chat-error')).textContent).toContain('Only the last message you sent can be edited.')
    await waitFor(() => expect(screen.getAllByTestId('message-user').map((m) => m.textContent)).toEqual(['hi']))
    expect(seen.some((s) => s.body.type === 'threads.retry_after_item')).toBe(false)
  })
})
