import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { renderWithQuery } from '../test/render'
import BuiltinChat from './BuiltinChat'

const T = '2026-11-24T10:00:00'
const thread = (i: number) => ({ id: `thr_${i}`, title: `Chat ${i}`, created_at: T, items: { data: [], has_more: false } })
let afters: (string | null)[]

beforeEach(() => {
  localStorage.clear()
  afters = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body)) as { type: string; params: { after: string | null; limit: number } }
      if (body.type !== 'threads.list') return Response.json({ error: { code: 'x', message: 'unexpected' } }, { status: 400 })
      afters.push(body.params.after)
      if (!body.params.after) return Response.json({ data: [1, 2].map(thread), has_more: true, after: 'thr_2' })
      return Response.json({ data: [3].map(thread), has_more: false, after: 'thr_3' })
    }),
  )
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('conversation list', () => {
  it('loads more conversations from the cursor until there are no more', async () => {
    renderWithQuery(<BuiltinChat onTasksChanged={() => {}} />)
    await waitFor(() => expect(screen.getAllByTestId('thread-item')).toHaveLength(2))
    fireEvent.click(screen.getByTestId('threads-more-button'))
    await waitFor(() => expect(screen.getAllByTestId('thread-item')).toHaveLength(3))
    expect(screen.getAllByTestId('thread-item').map((r) => r.textContent)).toEqual(['Chat 1', 'Chat 2', 'Chat 3'])
    expect(screen.queryByTestId('threads-more')).toBeNull()
    expect(afters).toEqual([null, 'thr_2'])
  })
})
