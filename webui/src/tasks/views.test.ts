import { describe, expect, it } from 'vitest'
import type { Task } from '../api/client'
import { buildTaskQuery, defaultFilter, groupSteps, loadView, matchesFilter, saveView } from './state'

const TODAY = '2026-11-25'

function task(over: Partial<Task>): Task {
  return {
    id: 't',
    title: 't',
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
    ...over,
  }
}

describe('Today, Upcoming and lists', () => {
  it('ask the server for the view and the list', () => {
    expect(buildTaskQuery({ ...defaultFilter, status: 'today' }, TODAY)).toEqual({ limit: 500, view: 'today' })
    expect(buildTaskQuery({ ...defaultFilter, status: 'upcoming', list: 'l1' }, TODAY)).toEqual({
      limit: 500,
      view: 'upcoming',
      list_id: 'l1',
    })
  })

  it('match tasks client-side like the server', () => {
    const today = { ...defaultFilter, status: 'today' as const }
    const upcoming = { ...defaultFilter, status: 'upcoming' as const }
    expect(matchesFilter(task({ due: '2026-11-20' }), today, TODAY)).toBe(true)
    expect(matchesFilter(task({ due: TODAY }), today, TODAY)).toBe(true)
    expect(matchesFilter(task({ due: '2026-11-26' }), today, TODAY)).toBe(false)
    expect(matchesFilter(task({ due: TODAY, completed: true }), today, TODAY)).toBe(false)
    expect(matchesFilter(task({ due: null }), today, TODAY)).toBe(false)
    expect(matchesFilter(task({ due: '2026-11-26' }), upcoming, TODAY)).toBe(true)
    expect(matchesFilter(task({ due: TODAY }), upcoming, TODAY)).toBe(false)
    expect(matchesFilter(task({ list_id: 'l1' }), { ...defaultFilter, list: 'l1' }, TODAY)).toBe(true)
    expect(matchesFilter(task({ list_id: 'l2' }), { ...defaultFilter, list: 'l1' }, TODAY)).toBe(false)
  })

  it('the view is remembered per window and bad saved values fall back', () => {
    const store = new Map<string, string>()
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) }
    saveView({ ...defaultFilter, status: 'upcoming', list: 'l1', q: 'not kept' }, storage)
    expect(loadView(storage)).toEqual({ ...defaultFilter, status: 'upcoming', list: 'l1' })
    store.set('taskchat.view', '{"status":"weird","list":5}')
    expect(loadView(storage)).toEqual(defaultFilter)
    store.set('taskchat.view', 'not json')
    expect(loadView(storage)).toEqual(defaultFilter)
  })
})

describe('my order', () => {
  const t = (id: string, position: string, parent_id: string | null = null) =>
    task({ id, title: id, position, parent_id })

  it('sorts by key with steps under their parent', async () => {
    const { byPosition, siblingOf } = await import('./state')
    const rows = byPosition([t('b', 'a2'), t('b1', 'a1', 'b'), t('a', 'a1'), t('b0', 'a0', 'b'), t('c', 'Zz')])
    // "Zz" < "a1": keys compare by code unit, as the server stores them.
    expect(rows.map((r) => r.id)).toEqual(['c', 'a', 'b', 'b0', 'b1'])
    expect(siblingOf(rows, 'b', -1)?.id).toBe('a')
    expect(siblingOf(rows, 'b', 1)).toBeNull()
    expect(siblingOf(rows, 'b1', -1)?.id).toBe('b0')
    expect(siblingOf(rows, 'b0', -1)).toBeNull()
  })
})

describe('groupSteps', () => {
  const t = (id: string, parent_id: string | null = null) => ({ id, parent_id }) as unknown as Task
  it('puts each step right after its parent, keeping the given order otherwise', () => {
    const got = groupSteps([t('s1', 'p'), t('a'), t('s2', 'p'), t('p'), t('orphan', 'gone')])
    expect(got.map((x) => x.id)).toEqual(['a', 'p', 's1', 's2', 'orphan'])
  })
})
