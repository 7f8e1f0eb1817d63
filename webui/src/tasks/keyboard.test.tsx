import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Task } from '../api/client'
import { renderWithQuery } from '../test/render'
import { ShortcutHelp } from '../ui/ShortcutHelp'
import { SHORTCUTS, isTyping, useShortcut } from '../ui/shortcuts'
import TaskPanel from './TaskPanel'

const base: Omit<Task, 'id' | 'title'> = {
  description: '',
  completed: false,
  completed_at: null,
  priority: 'none',
  due: null,
  tags: ['home'],
  created_at: '2026-11-01T00:00:00Z',
  updated_at: '2026-11-01T00:00:00Z',
}
let requests: { method: string; url: string; body?: unknown }[]

beforeEach(() => {
  requests = []
  const tasks: Task[] = ['Alpha', 'Beta', 'Gamma'].map((title, i) => ({ ...base, id: `t${i}`, title }))
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input)
      const method = init?.method ?? 'GET'
      const body = init?.body ? JSON.parse(String(init.body)) : undefined
      requests.push({ method, url, body })
      if (method === 'GET') return Response.json({ items: tasks, total: tasks.length })
      const id = /\/api\/tasks\/([^/]+)/.exec(url)?.[1]
      const task = tasks.find((t) => t.id === id)!
      return Response.json({ ...task, ...(body as object), completed: method === 'POST' ? (body as { completed: boolean }).completed : task.completed })
    }),
  )
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const rows = () => screen.getAllByTestId('task-item')
const focusedTitle = () => (document.activeElement as HTMLElement | null)?.querySelector('[data-testid=task-title]')?.textContent
const press = (key: string) => fireEvent.keyDown(document.activeElement ?? document.body, { key })

describe('task list keyboard', () => {
  it('is one Tab stop: only the current row is tabbable', async () => {
    renderWithQuery(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Gamma')
    const tabbable = [...screen.getByTestId('task-list').querySelectorAll<HTMLElement>('*')].filter((el) => el.tabIndex >= 0)
    expect(tabbable).toEqual([rows()[0]])
  })

  it('moves with j/k and the arrows, completes with x, edits with e, deletes with Delete', async () => {
    renderWithQuery(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Gamma')
    act(() => rows()[0].focus())
    press('j')
    expect(focusedTitle()).toBe('Beta')
    press('ArrowDown')
    expect(focusedTitle()).toBe('Gamma')
    press('j') // stays on the last row
    expect(focusedTitle()).toBe('Gamma')
    press('k')
    expect(focusedTitle()).toBe('Beta')
    expect(rows()[1].tabIndex).toBe(0) // the Tab stop follows
    expect(rows()[0].tabIndex).toBe(-1)

    press('x')
    await waitFor(() => expect(requests.find((r) => r.method === 'POST')).toMatchObject({ url: '/api/tasks/t1/complete', body: { completed: true } }))

    press('e')
    expect(screen.getByTestId('edit-title')).toHaveProperty('value', 'Beta')
    fireEvent.keyDown(screen.getByTestId('edit-title'), { key: 'Escape' })
    await waitFor(() => expect(focusedTitle()).toBe('Beta'))

    press('ArrowRight') // into the row: the check box first
    expect(document.activeElement).toBe(rows()[1].querySelector('[data-testid=task-complete]'))
    press('ArrowLeft')
    expect(focusedTitle()).toBe('Beta')

    press('Delete')
    expect(screen.queryByText('Beta')).toBeNull()
    await waitFor(() => expect(focusedTitle()).toBe('Gamma'))
  })

  it('single keys do nothing while typing; j from outside steps into the list', async () => {
    renderWithQuery(<TaskPanel onFirstLoad={() => {}} />)
    await screen.findByText('Gamma')
    const input = screen.getByTestId('task-add-input')
    act(() => input.focus())
    fireEvent.keyDown(input, { key: 'j' })
    expect(document.activeElement).toBe(input)
    act(() => input.blur())
    fireEvent.keyDown(document.body, { key: 'j' })
    expect(focusedTitle()).toBe('Alpha')
  })
})

function Probe({ onHit }: { onHit: (key: string) => void }) {
  useShortcut(['q', '?'], (e) => onHit(e.key))
  return <input data-testid="field" />
}

describe('shortcuts', () => {
  it('fire outside fields, not with modifiers, not while typing, not behind a dialog', () => {
    const onHit = vi.fn()
    render(<Probe onHit={onHit} />)
    fireEvent.keyDown(document.body, { key: 'q' })
    fireEvent.keyDown(document.body, { key: '?', shiftKey: true })
    fireEvent.keyDown(document.body, { key: 'q', ctrlKey: true })
    fireEvent.keyDown(screen.getByTestId('field'), { key: 'q' })
    expect(onHit.mock.calls).toEqual([['q'], ['?']])
    render(<ShortcutHelp open onClose={() => {}} />)
    fireEvent.keyDown(document.body, { key: 'q' })
    expect(onHit).toHaveBeenCalledTimes(2)
  })

  it('know text fields from other controls', () => {
    const box = Object.assign(document.createElement('input'), { type: 'checkbox' })
    expect(isTyping(box)).toBe(false)
    expect(isTyping(document.createElement('textarea'))).toBe(true)
    expect(isTyping(Object.assign(document.createElement('input'), { type: 'search' }))).toBe(true)
    expect(isTyping(document.createElement('button'))).toBe(false)
  })

  it('are all listed in the ? dialog', () => {
    render(<ShortcutHelp open onClose={() => {}} />)
    const help = screen.getByTestId('shortcut-help')
    for (const s of SHORTCUTS) expect(help.textContent).toContain(s.what)
  })
})
