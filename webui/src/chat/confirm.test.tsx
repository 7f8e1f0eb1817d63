import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import BuiltinChat from './BuiltinChat'
import { renderWithQuery } from '../test/render'
import { widgetLines } from './widgets'

const enc = new TextEncoder()
const T = '2026-11-24T10:00:00'

function sse(events: object[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const e of events) c.enqueue(enc.encode(`data: ${JSON.stringify(e)}\n\n`))
      c.close()
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
}

type Body = { type: string; params: Record<string, unknown> }

function installFetch(handler: (body: Body) => Response) {
  const calls: Body[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body)) as Body
      calls.push(body)
      return handler(body)
    }),
  )
  return calls
}

const thread = { id: 'thr_1', title: 'Cleanup', created_at: T }
const payload = { confirmation_id: 'del_1' }
// What app/chat/confirm.py streams (ChatKit widget JSON, exclude_none).
const card = {
  id: 'msg_card',
  thread_id: 'thr_1',
  created_at: T,
  type: 'widget',
  widget: {
    type: 'Card',
    size: 'md',
    children: [
      { type: 'Title', value: 'Delete 2 tasks?', size: 'sm' },
      { type: 'Text', value: '• alpha', size: 'sm' },
      { type: 'Text', value: '• <b>beta</b>', size: 'sm' },
    ],
    confirm: { label: 'Delete 2 tasks', action: { type: 'tasks.delete.confirm', payload, handler: 'server' } },
    cancel: { label: 'Keep them', action: { type: 'tasks.delete.cancel', payload, handler: 'server' } },
  },
}
const done = { ...card, widget: { type: 'Card', children: [{ type: 'Title', value: 'Deleted 2 tasks' }, ...card.widget.children.slice(1)] } }
const reply = (id: string, text: string) => ({
  id,
  thread_id: 'thr_1',
  created_at: T,
  type: 'assistant_message',
  content: [{ type: 'output_text', text, annotations: [] }],
})

beforeEach(() => {
  localStorage.clear()
  Element.prototype.scrollTo = () => {}
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('deletion confirmation card', () => {
  it('lists the tasks as text and sends the confirm action once', async () => {
    const calls = installFetch((body) => {
      if (body.type === 'threads.list') return Response.json({ data: [], has_more: false })
      if (body.type === 'threads.create')
        return sse([
          { type: 'thread.created', thread },
          { type: 'thread.item.done', item: { id: 'msg_u', thread_id: 'thr_1', created_at: T, type: 'user_message', content: [{ type: 'input_text', text: 'delete them' }] } },
          { type: 'thread.item.done', item: card },
          { type: 'thread.item.done', item: reply('msg_a', 'Please confirm.') },
        ])
      if (body.type === 'threads.custom_action')
        return sse([
          { type: 'thread.item.replaced', item: done },
          { type: 'client_effect', name: 'tasks_changed', data: { action: 'deleted', ids: ['a', 'b'], change_id: 'chg_1', tasks: [] } },
          { type: 'thread.item.done', item: reply('msg_b', 'Deleted 2 tasks.') },
        ])
      return Response.json({ error: { code: 'x', message: 'unexpected' } }, { status: 400 })
    })
    const onTasksChanged = vi.fn()
    renderWithQuery(<BuiltinChat onTasksChanged={onTasksChanged} />)
    const input = await screen.findByTestId('chat-input')
    fireEvent.change(input, { target: { value: 'delete them' } })
    fireEvent.keyDown(input, { key: 'Enter' })

    const widget = await screen.findByTestId('message-widget')
    expect(widget.textContent).toContain('Delete 2 tasks?')
    expect(widget.textContent).toContain('• <b>beta</b>') // text, never HTML
    expect(widget.querySelector('b')).toBeNull()
    const confirm = await screen.findByTestId('widget-confirm')
    await waitFor(() => expect((confirm as HTMLButtonElement).disabled).toBe(false))
    fireEvent.click(confirm)
    fireEvent.click(confirm) // a second press sends nothing

    await waitFor(() => expect(screen.getByTestId('message-widget').textContent).toContain('Deleted 2 tasks'))
    const actions = calls.filter((c) => c.type === 'threads.custom_action')
    expect(actions).toHaveLength(1)
    expect(actions[0].params).toEqual({ thread_id: 'thr_1', item_id: 'msg_card', action: { type: 'tasks.delete.confirm', payload } })
    expect(screen.queryByTestId('widget-confirm')).toBeNull() // the answered card has no buttons
    await waitFor(() => expect(onTasksChanged).toHaveBeenCalledWith(expect.objectContaining({ change_id: 'chg_1' })))
    expect(screen.getAllByTestId('message-assistant').map((m) => m.textContent)).toEqual(['Please confirm.', 'Deleted 2 tasks.'])
  })

  it('keeps: sends the cancel action', async () => {
    const calls = installFetch((body) => {
      if (body.type === 'threads.list') return Response.json({ data: [thread], has_more: false })
      if (body.type === 'items.list') return Response.json({ data: [card], has_more: false })
      if (body.type === 'threads.custom_action') return sse([{ type: 'thread.item.replaced', item: done }])
      return Response.json({ error: { code: 'x', message: 'unexpected' } }, { status: 400 })
    })
    localStorage.setItem('taskchat.thread', 'thr_1')
    renderWithQuery(<BuiltinChat onTasksChanged={() => {}} />)
    fireEvent.click(await screen.findByTestId('widget-cancel'))
    await waitFor(() => expect(calls.some((c) => c.type === 'threads.custom_action')).toBe(true))
    const action = calls.find((c) => c.type === 'threads.custom_action')!
    expect((action.params.action as { type: string }).type).toBe('tasks.delete.cancel')
  })

  it('widgetLines reads titles and texts in order and ignores the rest', () => {
    expect(widgetLines(card.widget)).toEqual([
      { title: true, text: 'Delete 2 tasks?' },
      { title: false, text: '• alpha' },
      { title: false, text: '• <b>beta</b>' },
    ])
    expect(widgetLines(undefined)).toEqual([])
    expect(widgetLines({ type: 'Card', children: [{ type: 'Image', value: 'x' }] })).toEqual([])
  })
})
