import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Task } from '../api/client'
import { renderWithQuery } from '../test/render'
import TaskPanel from './TaskPanel'

const N = 120
let urls: string[]

beforeEach(() => {
  urls = []
  const all: Task[] = Array.from({ length: N }, (_, i) => ({
    id: `t${i}`,
    title: `Task ${String(i).padStart(4, '0')}`,
    description: '',
    completed: true,
    completed_at: '2026-11-01T00:00:00Z',
    priority: 'none',
    due: null,
    tags: [],
    created_at: '2026-11-01T00:00:00Z',
    updated_at: '2026-11-01T00:00:00Z',
  }))
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL) => {
      const url = new URL(String(input), 'http://x')
      if (url.pathname === '/api/tasks') urls.push(url.search) // not the reminder notices
      const limit = Number(url.searchParams.get('limit') ?? 50)
      const offset = Number(url.searchParams.get('offset') ?? 0)
      return Response.json({ items: all.slice(offset, offset + limit), total: all.length })
    }),
  )
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('task paging', () => {
  it('shows the real total and loads the rest page by page', async () => {
    renderWithQuery(<TaskPanel onFirstLoad={() => {}} pageSize={50} />)
    await waitFor(() => expect(screen.getAllByTestId('task-item')).toHaveLength(50))
    expect(screen.getByTestId('task-count').textContent).toBe('120')
    expect(screen.getByTestId('load-more').textContent).toContain('Showing 50 of 120')
    fireEvent.click(screen.getByTestId('load-more-button'))
    await waitFor(() => expect(screen.getAllByTestId('task-item')).toHaveLength(100))
    fireEvent.click(screen.getByTestId('load-more-button'))
    await waitFor(() => expect(screen.getAllByTestId('task-item')).toHaveLength(N))
    expect(screen.queryByTestId('load-more')).toBeNull()
    expect(screen.getAllByTestId('task-title').at(-1)?.textContent).toBe('Task 0119')
    expect(urls.map((u) => new URLSearchParams(u).get('offset'))).toEqual([null, '50', '100'])
  })
})
