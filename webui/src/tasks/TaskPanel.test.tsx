import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Task } from '../api/client'
import { keys } from '../api/queryClient'
import { renderWithQuery } from '../test/render'
import TaskPanel, { UNDO_WINDOW_MS } from './TaskPanel'

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

let tasks: Task[]
let requests: { method: string; url: string; body?: unknown }[]

function installFetch(opts: { deleteStatus?: number; completeStatus?: number; completeGate?: Promise<void> } = {}) {
  requests = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input)
      const method = init?.method ?? 'GET'
      const body = init?.body ? JSON.parse(String(init.body)) : undefined
      requests.push({ method, url, body })
      const m = /^\/api\/tasks\/([^/?]+)(\/complete)?$/.exec(url)
      if (method === 'GET' && url.startsWith('/api/tasks')) {
        const open = url.includes('completed=false')
        const items = tasks.filter((t) => !open || !t.completed)
        return Response.json({ items, total: items.length })
      }
      if (method === 'DELETE' && m) {
        if (opts.deleteStatus) return Response.json({ error: { code: 'boom', message: 'Database is locked' } }, { status: opts.deleteStatus })
        tasks = tasks.filter((t) => t.id !== m[1])
        return new Response(null, { status: 204 })
      }
      if (method === 'POST' && m?.[2]) {
        await opts.completeGate
        if (opts.completeStatus) return Response.json({ error: { code: 'boom', message: 'Nope' } }, { status: opts.completeStatus })
        const t = tasks.find((x) => x.id === m[1])!
        t.completed = (body as { completed: boolean }).completed
        return Response.json(t)
      }
      if (method === 'POST' && url === '/api/tasks') {
        const t = { ...base, id: `new${tasks.length}`, ...(body as object) } as Task
        tasks.push(t)
        return Response.json(t, { status: 201 })
      }
      return Response.json({ error: { code: 'nf', message: 'nf' } }, { status: 404 })
    }),
  )
}

beforeEach(() => {
  tasks = [
    { ...base, id: 'a', title: 'Alpha', due: '2026-11-20' },
    { ...base, id: 'b', title: 'Beta' },
  ]
})
afterEach(() => {
  cleanup()
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

async function flush() {
  await act(async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve()
  })
}

const titles = () => screen.queryAllByTestId('task-title').map((e) => e.textContent)

describe('TaskPanel', () => {
  it('loads open tasks and reports the first load', async () => {
    installFetch()
    const onFirstLoad = vi.fn()
    renderWithQuery(<TaskPanel onFirstLoad={onFirstLoad} />)
    await screen.findByText('Alpha')
    expect(onFirstLoad).toHaveBeenCalledTimes(1)
    expect(requests[0].url).toBe('/api/tasks?limit=500&completed=false')
  })

  it('delays the DELETE; Undo cancels it; otherwise it is sent after the window', async () => {
    installFetch()
    renderWithQuery(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Alpha')
    vi.useFakeTimers()

    const row = screen.getAllByTestId('task-item').find((r) => r.textContent?.includes('Alpha'))!
    fireEvent.click(within(row).getByTestId('task-delete'))
    expect(titles()).toEqual(['Beta'])
    fireEvent.click(screen.getByTestId('undo-button'))
    await act(async () => {
      vi.advanceTimersByTime(UNDO_WINDOW_MS + 100)
    })
    expect(requests.some((r) => r.method === 'DELETE')).toBe(false)
    expect(titles()).toEqual(['Alpha', 'Beta'])

    const row2 = screen.getAllByTestId('task-item').find((r) => r.textContent?.includes('Beta'))!
    fireEvent.click(within(row2).getByTestId('task-delete'))
    await act(async () => {
      vi.advanceTimersByTime(UNDO_WINDOW_MS - 100)
    })
    expect(requests.some((r) => r.method === 'DELETE')).toBe(false)
    await act(async () => {
      vi.advanceTimersByTime(200)
    })
    await flush()
    expect(requests.filter((r) => r.method === 'DELETE').map((r) => r.url)).toEqual(['/api/tasks/b'])
    expect(tasks.map((t) => t.id)).toEqual(['a'])
    expect(titles()).toEqual(['Alpha'])
  })

  it('restores the task and shows the server message when the DELETE fails', async () => {
    installFetch({ deleteStatus: 500 })
    renderWithQuery(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Alpha')
    vi.useFakeTimers()
    const row = screen.getAllByTestId('task-item').find((r) => r.textContent?.includes('Alpha'))!
    fireEvent.click(within(row).getByTestId('task-delete'))
    await act(async () => {
      vi.advanceTimersByTime(UNDO_WINDOW_MS + 10)
    })
    await flush()
    expect(titles()).toEqual(['Alpha', 'Beta'])
    expect(screen.getAllByTestId('toast').some((t) => t.textContent?.includes('Database is locked'))).toBe(true)
  })

  it('completes optimistically and reverts with the error message on failure', async () => {
    // The server answers only when released: the tick must show before that.
    let release = () => {}
    installFetch({ completeStatus: 409, completeGate: new Promise<void>((r) => (release = r)) })
    renderWithQuery(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Alpha')
    const box = screen.getAllByTestId('task-complete')[0] as HTMLInputElement
    fireEvent.click(box)
    await waitFor(() => expect((screen.getAllByTestId('task-complete')[0] as HTMLInputElement).checked).toBe(true))
    release()
    await screen.findByText('Nope')
    expect((screen.getAllByTestId('task-complete')[0] as HTMLInputElement).checked).toBe(false)
    expect(requests.find((r) => r.url === '/api/tasks/a/complete')?.body).toEqual({ completed: true })
  })

  it('offers Undo after completing, which reopens the task', async () => {
    installFetch()
    renderWithQuery(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Alpha')
    fireEvent.click(screen.getAllByTestId('task-complete')[0])
    const toast = await screen.findByText('Completed “Alpha”')
    await waitFor(() => expect(screen.queryByText('Alpha')).toBeNull()) // left the Open view at once
    fireEvent.click(within(toast.closest('[data-testid=toast]') as HTMLElement).getByTestId('undo-button'))
    await screen.findByText('Alpha')
    expect(requests.filter((r) => r.url === '/api/tasks/a/complete').map((r) => r.body)).toEqual([{ completed: true }, { completed: false }])
  })

  it('quick-adds with #tags and !priority', async () => {
    installFetch()
    renderWithQuery(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Alpha')
    fireEvent.change(screen.getByTestId('task-add-input'), { target: { value: 'Gamma #home !high' } })
    fireEvent.submit(screen.getByTestId('task-add-input').closest('form')!)
    await screen.findByText('Gamma')
    expect(requests.find((r) => r.method === 'POST')?.body).toEqual({ title: 'Gamma', tags: ['home'], priority: 'high' })
  })

  it('reloads when the tasks are invalidated (tasks_changed)', async () => {
    installFetch()
    const { queryClient } = renderWithQuery(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Alpha')
    tasks.push({ ...base, id: 'c', title: 'From chat' })
    // What the app does on a tasks_changed effect.
    act(() => void queryClient.invalidateQueries({ queryKey: keys.tasks }))
    await screen.findByText('From chat')
  })
})
