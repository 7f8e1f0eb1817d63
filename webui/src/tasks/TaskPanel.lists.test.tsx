import { act, cleanup, fireEvent, screen, within } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Task } from '../api/client'
import { renderWithQuery as render } from '../test/render'
import TaskPanel from './TaskPanel'

const base: Omit<Task, 'id' | 'title' | 'position'> = {
  description: '',
  completed: false,
  completed_at: null,
  priority: 'none',
  due: null,
  tags: [],
  created_at: '2026-11-01T00:00:00Z',
  updated_at: '2026-11-01T00:00:00Z',
  list_id: 'inbox',
  parent_id: null,
}

let tasks: Task[]
let requests: { method: string; url: string; body?: unknown }[]

function installFetch() {
  requests = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input)
      const method = init?.method ?? 'GET'
      const body = init?.body ? JSON.parse(String(init.body)) : undefined
      requests.push({ method, url, body })
      if (method === 'GET' && url === '/api/lists') {
        return Response.json({
          items: [
            { id: 'inbox', name: 'Inbox', color: '#808080', emoji: null, archived: false, position: 'a0', is_inbox: true },
            { id: 'travel', name: 'Travel', color: '#3b82f6', emoji: '🧳', archived: false, position: 'a1', is_inbox: false },
          ],
        })
      }
      if (method === 'GET' && url.startsWith('/api/tasks')) return Response.json({ items: tasks, total: tasks.length })
      const move = /^\/api\/tasks\/([^/]+)\/move$/.exec(url)
      if (method === 'POST' && move) {
        // The server's answer: a key just before the sibling named.
        const t = tasks.find((x) => x.id === move[1])!
        const before = tasks.find((x) => x.id === (body as { before_id: string }).before_id)!
        const key = before.position ?? 'a1'
        t.position = `${key.slice(0, -1)}${String.fromCharCode(key.charCodeAt(key.length - 1) - 1)}V`
        return Response.json(t)
      }
      const done = /^\/api\/tasks\/([^/]+)\/complete$/.exec(url)
      if (method === 'POST' && done) {
        const t = tasks.find((x) => x.id === done[1])!
        return Response.json({ ...t, completed: (body as { completed: boolean }).completed, updated_at: '2026-11-02T00:00:00Z' })
      }
      if (method === 'POST' && url === '/api/lists') {
        return Response.json({ id: 'new-list', color: '#808080', emoji: null, archived: false, position: 'a2', is_inbox: false, ...(body as object) }, { status: 201 })
      }
      if (method === 'DELETE' && url.startsWith('/api/lists/travel')) {
        const travel = { id: 'travel', name: 'Travel', color: '#3b82f6', emoji: '🧳', archived: false, position: 'a1', is_inbox: false }
        return Response.json({ deleted: travel, tasks_moved: 2, tasks_deleted: 0, task_ids: ['x', 'y'], change_id: 'chg_1' })
      }
      if (method === 'POST' && url.startsWith('/api/tasks/undo/')) return Response.json({ change_id: 'chg_1', action: 'delete_list', ids: [], tasks: [] })
      if (method === 'POST' && url === '/api/tasks') {
        const t = { ...base, position: 'z', id: 'new', ...(body as object) } as Task
        return Response.json(t, { status: 201 })
      }
      return Response.json({ error: { code: 'nf', message: 'nf' } }, { status: 404 })
    }),
  )
}

beforeEach(() => {
  sessionStorage.clear()
  tasks = [
    { ...base, id: 'a', title: 'Alpha', position: 'a1' },
    { ...base, id: 'b', title: 'Beta', position: 'a2', subtasks_total: 2, subtasks_done: 1 },
    { ...base, id: 'b1', title: 'Beta step', position: 'a0', parent_id: 'b' },
    { ...base, id: 'c', title: 'Gamma', position: 'a3' },
  ]
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

async function flush() {
  await act(async () => {
    for (let i = 0; i < 8; i++) await Promise.resolve()
  })
}

const titles = () => screen.queryAllByTestId('task-title').map((e) => e.textContent)

describe('TaskPanel with lists', () => {
  it('shows my order with steps under their parent and moves a task with Alt+Up', async () => {
    installFetch()
    render(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Alpha')
    fireEvent.change(screen.getByTestId('task-sort'), { target: { value: 'position' } })
    expect(titles()).toEqual(['Alpha', 'Beta', 'Beta step', 'Gamma'])
    const beta = screen.getAllByTestId('task-item').find((r) => r.textContent?.includes('Beta step'))!
    expect(beta.className).toContain('step')
    expect(screen.getByTestId('task-steps').textContent).toBe('1/2')

    const gamma = screen.getAllByTestId('task-item').find((r) => r.textContent?.includes('Gamma'))!
    fireEvent.keyDown(within(gamma).getByTestId('task-title'), { key: 'ArrowUp', altKey: true })
    await flush()
    // Past its sibling Beta (Beta's step is not its sibling): one request.
    const moves = requests.filter((r) => r.url.endsWith('/move'))
    expect(moves).toEqual([{ method: 'POST', url: '/api/tasks/c/move', body: { before_id: 'b' } }])
    await flush()
    expect(titles()).toEqual(['Alpha', 'Gamma', 'Beta', 'Beta step'])
  })

  it('filters by list and view, remembers them, and quick add takes #list', async () => {
    installFetch()
    const { unmount } = render(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Alpha')
    await screen.findByRole('option', { name: '🧳 Travel' })
    fireEvent.change(screen.getByTestId('filter-list'), { target: { value: 'travel' } })
    fireEvent.click(screen.getByTestId('filter-today'))
    await flush()
    expect(requests.at(-1)?.url).toBe('/api/tasks?limit=500&view=today&list_id=travel')

    fireEvent.change(screen.getByTestId('task-add-input'), { target: { value: 'book hotel #travel p1' } })
    const chips = screen.getAllByTestId('quick-chip').map((c) => c.textContent)
    expect(chips.some((c) => c?.startsWith('List: travel'))).toBe(true)
    fireEvent.click(screen.getByTestId('task-add-button'))
    await flush()
    const created = requests.find((r) => r.method === 'POST' && r.url === '/api/tasks')
    expect(created?.body).toEqual({ title: 'book hotel', priority: 'high', list_id: 'travel' })

    unmount()
    render(<TaskPanel onFirstLoad={() => {}} />)
    await flush()
    // The lists come from their own query (a tick after the tasks).
    await screen.findByRole('option', { name: '🧳 Travel' })
    expect((screen.getByTestId('filter-list') as HTMLSelectElement).value).toBe('travel')
    expect(screen.getByTestId('filter-today').getAttribute('aria-selected')).toBe('true')
  })
})

describe('the lists dialog', () => {
  it('creates a list with a colour, and deleting one asks, then offers Undo', async () => {
    installFetch()
    render(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByRole('option', { name: '🧳 Travel' })
    fireEvent.click(screen.getByTestId('manage-lists'))
    const dialog = screen.getByTestId('list-manager')
    expect(within(dialog).getAllByTestId('list-row')).toHaveLength(2)
    fireEvent.change(within(dialog).getByTestId('list-new-name'), { target: { value: 'Work' } })
    fireEvent.change(within(dialog).getByTestId('list-new-color'), { target: { value: '#299438' } })
    fireEvent.click(within(dialog).getByTestId('list-new-add'))
    await flush()
    expect(requests.find((r) => r.method === 'POST' && r.url === '/api/lists')?.body).toEqual({ name: 'Work', color: '#299438' })

    // The Inbox cannot be deleted; Travel can, after the question.
    const rows = within(dialog).getAllByTestId('list-row')
    expect(within(rows[0]).queryByTestId('list-delete-button')).toBeNull()
    fireEvent.click(within(rows[1]).getByTestId('list-delete-button'))
    await flush()
    expect(screen.getByTestId('list-delete').textContent).toContain('It has 4 tasks')
    fireEvent.click(screen.getByTestId('list-delete-move'))
    await flush()
    expect(requests.filter((r) => r.method === 'DELETE')).toEqual([{ method: 'DELETE', url: '/api/lists/travel?tasks=move_to_inbox', body: undefined }])
    expect(screen.queryByTestId('list-manager')).toBeNull()
    const toast = screen.getByText('Deleted “Travel”; 2 tasks moved to Inbox').closest('.toast') as HTMLElement
    fireEvent.click(within(toast).getByRole('button', { name: 'Undo' }))
    await flush()
    expect(requests.some((r) => r.method === 'POST' && r.url === '/api/tasks/undo/chg_1')).toBe(true)
  })
})

describe('completing a task with open steps', () => {
  it('asks first; Cancel sends nothing, "Leave them open" completes the task alone', async () => {
    installFetch()
    render(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Alpha')
    const beta = screen.getAllByTestId('task-item').find((r) => r.textContent?.startsWith('Beta1/2'))!
    fireEvent.click(within(beta).getByTestId('task-complete'))
    await flush()
    expect(screen.getByTestId('steps-dialog').textContent).toContain('It still has')
    expect((within(beta).getByTestId('task-complete') as HTMLInputElement).checked).toBe(false)
    fireEvent.click(screen.getByTestId('steps-dialog-cancel'))
    expect(screen.queryByTestId('steps-dialog')).toBeNull()
    expect(requests.filter((r) => r.url.endsWith('/complete'))).toEqual([])

    fireEvent.click(within(beta).getByTestId('task-complete'))
    await flush()
    fireEvent.click(screen.getByTestId('steps-leave'))
    await flush()
    expect(requests.filter((r) => r.url.endsWith('/complete'))).toEqual([
      { method: 'POST', url: '/api/tasks/b/complete', body: { completed: true, subtasks: 'leave' } },
    ])
  })

  it('a task without open steps completes at once', async () => {
    installFetch()
    render(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Alpha')
    const alpha = screen.getAllByTestId('task-item').find((r) => r.textContent?.startsWith('Alpha'))!
    fireEvent.click(within(alpha).getByTestId('task-complete'))
    await flush()
    expect(screen.queryByTestId('steps-dialog')).toBeNull()
    expect(requests.filter((r) => r.url.endsWith('/complete'))).toEqual([
      { method: 'POST', url: '/api/tasks/a/complete', body: { completed: true } },
    ])
  })
})

describe('drag and drop', () => {
  it('dropping a task on a row puts it before that row, under the same parent', async () => {
    installFetch()
    render(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Alpha')
    fireEvent.change(screen.getByTestId('task-sort'), { target: { value: 'position' } })
    const row = (name: string) => screen.getAllByTestId('task-item').find((r) => r.textContent?.startsWith(name))!
    const data = new Map<string, string>()
    const dataTransfer = {
      setData: (k: string, v: string) => void data.set(k, v),
      getData: (k: string) => data.get(k) ?? '',
      get types() {
        return [...data.keys()]
      },
      effectAllowed: 'move',
    }
    fireEvent.dragStart(row('Alpha'), { dataTransfer })
    fireEvent.dragOver(row('Beta step'), { dataTransfer })
    fireEvent.drop(row('Beta step'), { dataTransfer })
    await flush()
    const moves = requests.filter((r) => r.url.endsWith('/move'))
    expect(moves).toEqual([
      { method: 'POST', url: '/api/tasks/a/move', body: { list_id: 'inbox', parent_id: 'b', before_id: 'b1' } },
    ])
  })
})
