import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { renderWithQuery } from '../test/render'
import SearchBox from './SearchBox'

const MATCHES = 30
let limits: number[]

beforeEach(() => {
  limits = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL) => {
      const limit = Number(new URL(String(input), 'http://x').searchParams.get('limit'))
      limits.push(limit)
      const results = Array.from({ length: Math.min(limit, MATCHES) }, (_, i) => ({
        kind: 'task', id: `t${i}`, thread_id: null, item_id: null, title: `Milk ${i}`, snippet: `<mark>Milk</mark> ${i}`, score: 1,
      }))
      return Response.json({ results })
    }),
  )
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('search paging', () => {
  it('offers more results while the answer is full, by mouse and by keyboard', async () => {
    renderWithQuery(<SearchBox onOpen={() => {}} />)
    const input = screen.getByTestId('global-search-input')
    fireEvent.change(input, { target: { value: 'milk' } })
    await waitFor(() => expect(screen.getAllByTestId('search-result')).toHaveLength(20))
    fireEvent.click(screen.getByTestId('search-more'))
    await waitFor(() => expect(screen.getAllByTestId('search-result')).toHaveLength(MATCHES))
    expect(screen.queryByTestId('search-more')).toBeNull() // 30 < 40: that was all
    expect(limits).toEqual([20, 40])

    fireEvent.change(input, { target: { value: 'milk again' } })
    await waitFor(() => expect(limits.at(-1)).toBe(20)) // a new search starts small
    await waitFor(() => expect(screen.getByTestId('search-more')).toBeTruthy())
    for (let i = 0; i < 20; i++) fireEvent.keyDown(input, { key: 'ArrowDown' })
    fireEvent.keyDown(input, { key: 'Enter' })
    await waitFor(() => expect(limits.at(-1)).toBe(40))
    expect(limits).toEqual([20, 40, 20, 40]) // never a wasted request
  })
})
