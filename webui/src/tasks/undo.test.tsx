import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import UndoBar from './UndoBar'
import { UNDO_SHOW_MS, addUndo, pruneUndo, undoChange, undoFromEffect } from './undo'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe('undo entries from tasks_changed', () => {
  it('offers undo only for effects with a change id', () => {
    expect(undoFromEffect(undefined, 0)).toBeNull()
    expect(undoFromEffect({ action: 'created', ids: ['a'] }, 0)).toBeNull()
    expect(undoFromEffect({ action: 'created', ids: ['a'], tasks: [{ id: 'a', title: 'Buy milk' }], change_id: 'chg_1' }, 1000)).toEqual({
      changeId: 'chg_1',
      label: 'Added “Buy milk”',
      expiresAt: 1000 + UNDO_SHOW_MS,
    })
    expect(undoFromEffect({ action: 'deleted', ids: ['a', 'b'], tasks: [], change_id: 'chg_2' }, 0)?.label).toBe('Deleted 2 tasks')
    expect(UNDO_SHOW_MS).toBeGreaterThanOrEqual(60_000) // at least a minute
  })

  it('keeps the newest few and drops expired ones', () => {
    const e = (id: string, at: number) => undoFromEffect({ action: 'updated', ids: ['x'], change_id: id }, at)!
    let list = addUndo([], e('1', 0), 0)
    list = addUndo(list, e('2', 10), 10)
    list = addUndo(list, e('3', 20), 20)
    list = addUndo(list, e('4', 30), 30)
    expect(list.map((x) => x.changeId)).toEqual(['4', '3', '2'])
    expect(pruneUndo(list, 15 + UNDO_SHOW_MS).map((x) => x.changeId)).toEqual(['4', '3'])
    expect(pruneUndo(list, 0)).toBe(list)
  })

  it('posts to /api/tasks/undo/{id} and reports errors', async () => {
    const f = vi.fn(async () => Response.json({ change_id: 'chg/1' }))
    await undoChange('chg/1', f as unknown as typeof fetch)
    expect(f).toHaveBeenCalledWith('/api/tasks/undo/chg%2F1', expect.objectContaining({ method: 'POST' }))
    const gone = vi.fn(async () => Response.json({ error: { code: 'not_found', message: 'This change can no longer be undone.' } }, { status: 404 }))
    await expect(undoChange('chg_2', gone as unknown as typeof fetch)).rejects.toThrow('no longer be undone')
  })
})

describe('UndoBar', () => {
  it('undoes an entry and says so when it cannot', async () => {
    const entries = [
      { changeId: 'chg_1', label: 'Deleted 2 tasks', expiresAt: Date.now() + 60_000 },
      { changeId: 'chg_2', label: 'Added “x”', expiresAt: Date.now() + 60_000 },
    ]
    const undo = vi.fn(async (id: string) => {
      if (id === 'chg_2') throw new Error('This change can no longer be undone.')
    })
    const onDone = vi.fn()
    const { rerender } = render(<UndoBar entries={entries} onDone={onDone} onTick={() => {}} undo={undo} />)
    expect(screen.getAllByTestId('undo-entry').map((e) => e.textContent)).toEqual(['Deleted 2 tasksUndo', 'Added “x”Undo'])
    fireEvent.click(screen.getAllByTestId('undo-button')[0])
    await waitFor(() => expect(onDone).toHaveBeenCalledWith('chg_1'))
    expect(undo).toHaveBeenCalledWith('chg_1')
    rerender(<UndoBar entries={entries.slice(1)} onDone={onDone} onTick={() => {}} undo={undo} />)
    fireEvent.click(screen.getByTestId('undo-button'))
    expect(await screen.findByTestId('undo-error')).toHaveProperty('textContent', 'This change can no longer be undone.')
  })

  it('renders nothing without entries', () => {
    render(<UndoBar entries={[]} onDone={() => {}} onTick={() => {}} />)
    expect(screen.queryByTestId('undo-bar')).toBeNull()
  })
})
