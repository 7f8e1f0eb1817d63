import { cleanup, fireEvent, screen } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { keys } from '../api/queryClient'
import { renderWithQuery } from '../test/render'
import DataTransfer from './DataTransfer'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('import', () => {
  it('says what came in, in words, and refreshes tasks and conversations', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Response.json({ inserted: { tasks: 1, threads: 2 }, updated: { tasks: 0 }, unchanged: {}, skipped: 0 })))
    const { queryClient } = renderWithQuery(<DataTransfer />)
    const invalidated = vi.spyOn(queryClient, 'invalidateQueries')
    const file = new File(['{}'], 'export.json', { type: 'application/json' })
    fireEvent.change(screen.getByTestId('import-file'), { target: { files: [file] } })
    expect((await screen.findByTestId('import-result')).textContent).toBe('Import finished: added 1 task, 2 threads.')
    expect(invalidated.mock.calls.map((c) => c[0]?.queryKey)).toEqual([keys.tasks, keys.threads])
  })
})
