import { act, cleanup, fireEvent, screen, within } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Task } from '../api/client'
import type { ThreadItem } from '../chat/protocol'
import { touchedByItem } from '../chat/touched'
import { renderWithQuery } from '../test/render'
import SearchBox from './SearchBox'
import TaskPanel from '../tasks/TaskPanel'

const base: Omit<Task, 'id' | 'title'> = {
  description: '',
  completed: false,
  completed_at: null,
  priority: 'none',
  due: null,
  tags: [],
  created_at: '2026-11-01T00:00:00Z',
  updated_at: '2026-11-01T00:00:00Z',
}
let posted: unknown[]

beforeEach(() => {
  posted = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input)
      const method = init?.method ?? 'GET'
      if (method === 'GET' && url.startsWith('/api/tasks')) {
        const items: Task[] = [
          { ...base, id: 'a', title: 'Renew passport', source: { thread_id: 'thr_1', thread_title: 'Trip prep', item_id: 'msg_1' } },
          { ...base, id: 'b', title: 'By hand', source: null },
        ]
        return Response.json({ items, total: 2 })
      }
      if (method === 'POST' && url === '/api/tasks') {
        const body = JSON.parse(String(init?.body))
        posted.push(body)
        return Response.json({ ...base, id: 'new', ...body }, { status: 201 })
      }
      if (url.startsWith('/api/search')) {
        return Response.json({
          results: [
            { kind: 'message', id: 'msg_1', thread_id: 'thr_1', item_id: 'msg_1', title: 'Trip prep', snippet: 'renew my <mark>passport</mark> <b>now</b>', score: 2 },
            { kind: 'task', id: 'a', thread_id: null, item_id: null, title: 'Renew passport', snippet: 'Renew <mark>passport</mark>', score: 1 },
          ],
        })
      }
      return Response.json({ error: { code: 'nf', message: 'nf' } }, { status: 404 })
    }),
  )
})

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('task panel links and quick add', () => {
  it('shows a small link to the message the task came from and opens the thread', async () => {
    const onOpenSource = vi.fn()
    renderWithQuery(<TaskPanel onFirstLoad={() => {}} onOpenSource={onOpenSource} timeZone="Europe/Berlin" />)
    const link = await screen.findByTestId('task-source')
    expect(link.textContent).toBe('') // an icon, not a long "from: …" label
    expect(link.getAttribute('aria-label')).toBe('Open the chat message this task came from (Trip prep)')
    fireEvent.click(link)
    expect(onOpenSource).toHaveBeenCalledWith({ thread_id: 'thr_1', thread_title: 'Trip prep', item_id: 'msg_1' })
    expect(screen.getAllByTestId('task-source')).toHaveLength(1)
  })

  it('turns the add box text into chips that can be removed before saving', async () => {
    renderWithQuery(<TaskPanel onFirstLoad={() => {}} timeZone="Europe/Berlin" />)
    await screen.findAllByTestId('task-item')
    const input = screen.getByTestId('task-add-input')
    fireEvent.change(input, { target: { value: 'buy milk !high #groceries #home' } })
    const chips = screen.getAllByTestId('quick-chip')
    expect(chips.map((c) => c.dataset.kind)).toEqual(['priority', 'tag', 'tag'])
    fireEvent.click(within(chips[2]).getByRole('button'))
    expect(screen.getAllByTestId('quick-chip')).toHaveLength(2)
    await act(async () => {
      fireEvent.submit(input.closest('form')!)
    })
    expect(posted).toEqual([{ title: 'buy milk #home', priority: 'high', tags: ['groceries'] }])
    expect(screen.queryAllByTestId('quick-chip')).toHaveLength(0)
  })
})

describe('search box', () => {
  it('renders snippets as text with <mark> hits and opens a result', async () => {
    const onOpen = vi.fn()
    renderWithQuery(<SearchBox onOpen={onOpen} />)
    fireEvent.change(screen.getByTestId('global-search-input'), { target: { value: 'passport' } })
    const results = await screen.findAllByTestId('search-result', undefined, { timeout: 2000 })
    expect(results).toHaveLength(2)
    const marks = results[0].querySelectorAll('mark')
    expect([...marks].map((m) => m.textContent)).toEqual(['passport'])
    expect(results[0].querySelector('b')).toBeNull() // markup in text stays text
    expect(results[0].textContent).toContain('<b>now</b>')
    fireEvent.click(results[1])
    expect(onOpen).toHaveBeenCalledWith(expect.objectContaining({ kind: 'task', id: 'a' }))
  })
})

describe('chips under replies', () => {
  const item = (id: string, type: string) => ({ id, type, thread_id: 't', created_at: '', content: [] }) as unknown as ThreadItem
  it('puts each turn’s tasks under the reply that followed it', () => {
    const items = [item('u1', 'user_message'), item('h', 'hidden_context_item'), item('a1', 'assistant_message'), item('u2', 'user_message')]
    const map = touchedByItem(items, [
      { item_id: 'u1', task_id: 'x', title: 'X', action: 'created' },
      { item_id: 'u1', task_id: 'x', title: 'X', action: 'updated' },
      { item_id: 'u2', task_id: 'y', title: 'Y', action: 'completed' },
      { item_id: 'gone', task_id: 'z', title: 'Z', action: 'created' },
    ])
    expect(map.get('a1')).toEqual([{ id: 'x', title: 'X', action: 'created' }])
    expect(map.get('u2')).toEqual([{ id: 'y', title: 'Y', action: 'completed' }])
    expect(map.size).toBe(2)
  })
})
