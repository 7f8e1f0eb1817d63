// @vitest-environment node
import { describe, expect, it } from 'vitest'
import type { Task } from '../api/client'
import { taskQueryString } from '../api/client'
import {
  addDays,
  buildTaskQuery,
  defaultFilter,
  diffTask,
  dueDate,
  dueState,
  initialTaskState,
  matchesFilter,
  parseQuickAdd,
  parseTags,
  sortTasks,
  taskReducer,
  visibleTasks,
  writableFields,
  type TaskState,
} from './state'

const TODAY = '2026-11-24'

let n = 0
function task(p: Partial<Task> = {}): Task {
  n++
  return {
    id: `t${n}`,
    title: `Task ${n}`,
    description: '',
    completed: false,
    completed_at: null,
    priority: 'none',
    due: null,
    tags: [],
    created_at: `2026-11-${String(n).padStart(2, '0')}T09:00:00Z`,
    updated_at: `2026-11-${String(n).padStart(2, '0')}T09:00:00Z`,
    ...p,
  }
}

describe('dates', () => {
  it('adds days across month and year ends', () => {
    expect(addDays('2026-11-24', 7)).toBe('2026-12-01')
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01')
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28')
  })
  it('reads date-only and datetime due values', () => {
    expect(dueDate('2026-11-30')).toBe('2026-11-30')
    expect(dueDate(null)).toBeNull()
    expect(dueDate('2026-11-30T12:00:00')).toBe('2026-11-30')
  })
  it('classifies due state', () => {
    expect(dueState({ due: '2026-11-20', completed: false }, TODAY)).toBe('overdue')
    expect(dueState({ due: '2026-11-20', completed: true }, TODAY)).toBe('later')
    expect(dueState({ due: TODAY, completed: false }, TODAY)).toBe('today')
    expect(dueState({ due: '2026-12-01', completed: false }, TODAY)).toBe('soon')
    expect(dueState({ due: '2026-12-02', completed: false }, TODAY)).toBe('later')
    expect(dueState({ due: null, completed: false }, TODAY)).toBeNull()
  })
})

describe('filters → query', () => {
  it('maps status filters to completed/due_before', () => {
    expect(buildTaskQuery(defaultFilter, TODAY)).toEqual({ limit: 500, completed: false })
    expect(buildTaskQuery({ ...defaultFilter, status: 'done' }, TODAY)).toMatchObject({ completed: true })
    expect(buildTaskQuery({ ...defaultFilter, status: 'all' }, TODAY).completed).toBeUndefined()
    expect(buildTaskQuery({ ...defaultFilter, status: 'due_soon' }, TODAY)).toMatchObject({
      completed: false,
      due_before: '2026-12-02',
    })
  })
  it('adds priority, tag and trimmed search; serializes without empty params', () => {
    const q = buildTaskQuery({ ...defaultFilter, priority: 'high', tag: 'work', q: '  report ' }, TODAY)
    expect(q).toMatchObject({ priority: 'high', tag: 'work', q: 'report' })
    expect(taskQueryString(q)).toBe('?limit=500&completed=false&priority=high&tag=work&q=report')
    expect(taskQueryString({ q: '', tag: undefined })).toBe('')
  })
  it('matches tasks client-side like the server filter', () => {
    const open = task({ title: 'Write report', tags: ['Work'], priority: 'high', due: '2026-11-26' })
    const done = task({ completed: true, title: 'Done thing' })
    const far = task({ due: '2027-01-10' })
    expect(matchesFilter(open, defaultFilter, TODAY)).toBe(true)
    expect(matchesFilter(done, defaultFilter, TODAY)).toBe(false)
    expect(matchesFilter(done, { ...defaultFilter, status: 'done' }, TODAY)).toBe(true)
    expect(matchesFilter(open, { ...defaultFilter, status: 'due_soon' }, TODAY)).toBe(true)
    expect(matchesFilter(far, { ...defaultFilter, status: 'due_soon' }, TODAY)).toBe(false)
    expect(matchesFilter(open, { ...defaultFilter, tag: 'work' }, TODAY)).toBe(true)
    expect(matchesFilter(open, { ...defaultFilter, tag: 'home' }, TODAY)).toBe(false)
    expect(matchesFilter(open, { ...defaultFilter, priority: 'low' }, TODAY)).toBe(false)
    expect(matchesFilter(open, { ...defaultFilter, q: 'REPORT' }, TODAY)).toBe(true)
    expect(matchesFilter(open, { ...defaultFilter, q: 'milk' }, TODAY)).toBe(false)
  })
})

describe('sorting', () => {
  const a = task({ title: 'b-no-due', priority: 'high' })
  const b = task({ title: 'a-due-later', due: '2026-12-10', priority: 'low' })
  const c = task({ title: 'C-due-soon', due: '2026-11-25' })
  const d = task({ title: 'd-done', completed: true, due: '2026-11-01' })
  const e = task({ title: 'e-same-day-time', due: '2026-11-25T08:00:00' })

  it('smart: open first, then due date (no due last), then priority', () => {
    expect(sortTasks([a, b, c, d, e], 'smart').map((t) => t.title)).toEqual([
      'C-due-soon',
      'e-same-day-time',
      'a-due-later',
      'b-no-due',
      'd-done',
    ])
  })
  it('priority, title, created', () => {
    expect(sortTasks([b, c, a], 'priority').map((t) => t.title)).toEqual(['b-no-due', 'a-due-later', 'C-due-soon'])
    expect(sortTasks([a, b, c], 'title').map((t) => t.title)).toEqual(['a-due-later', 'b-no-due', 'C-due-soon'])
    expect(sortTasks([a, b, c], 'created').map((t) => t.title)).toEqual(['C-due-soon', 'a-due-later', 'b-no-due'])
  })
  it('does not mutate its input', () => {
    const input = [a, b, c]
    sortTasks(input, 'title')
    expect(input).toEqual([a, b, c])
  })
})

describe('quick add & editing helpers', () => {
  it('parses #tags and !priority out of the title', () => {
    expect(parseQuickAdd('Buy milk #errands !high')).toEqual({ title: 'Buy milk', tags: ['errands'], priority: 'high' })
    expect(parseQuickAdd('  Call mom  ')).toEqual({ title: 'Call mom' })
    expect(parseQuickAdd('#only !low')).toBeNull()
    expect(parseQuickAdd('Fix bug #1 in C#')).toEqual({ title: 'Fix bug in C#', tags: ['1'] })
  })
  it('parses tag lists', () => {
    expect(parseTags('work, #home  Work,errands')).toEqual(['work', 'home', 'errands'])
  })
  it('diffs only changed fields', () => {
    const t = task({ title: 'A', tags: ['x'], due: '2026-11-30', priority: 'low' })
    expect(diffTask(t, { title: 'A', tags: ['x'], due: '2026-11-30', priority: 'low', description: '' })).toEqual({})
    expect(diffTask(t, { title: 'B', due: '', tags: ['x', 'y'], priority: 'high' })).toEqual({
      title: 'B',
      due: null,
      tags: ['x', 'y'],
      priority: 'high',
    })
  })
  it('extracts writable fields for re-creation', () => {
    const t = task({ title: 'A', tags: ['x'], due: '2026-11-30', priority: 'low', description: 'd' })
    expect(writableFields(t)).toEqual({ title: 'A', description: 'd', completed: false, priority: 'low', due: '2026-11-30', tags: ['x'] })
  })
})

describe('task reducer', () => {
  const t1 = task({ title: 'one', due: '2026-11-25' })
  const t2 = task({ title: 'two', due: '2026-11-26' })
  const loaded: TaskState = taskReducer(
    taskReducer(initialTaskState, { type: 'load/start', seq: 1 }),
    { type: 'load/success', seq: 1, items: [t1, t2], total: 2 },
  )

  it('loads and ignores stale responses', () => {
    expect(loaded.loaded).toBe(true)
    expect(loaded.items).toHaveLength(2)
    let s = taskReducer(loaded, { type: 'load/start', seq: 2 })
    s = taskReducer(s, { type: 'load/start', seq: 3 })
    s = taskReducer(s, { type: 'load/success', seq: 3, items: [t2], total: 1 })
    s = taskReducer(s, { type: 'load/success', seq: 2, items: [t1, t2], total: 2 }) // late, stale
    expect(s.items).toEqual([t2])
    expect(s.total).toBe(1)
    expect(taskReducer(s, { type: 'load/failure', seq: 2, error: 'x' }).error).toBeNull()
  })

  it('a failed load keeps items of the same query but clears another query\'s', () => {
    let s = taskReducer(initialTaskState, { type: 'load/start', seq: 1, key: 'open' })
    s = taskReducer(s, { type: 'load/success', seq: 1, items: [t1], total: 1 })
    const same = taskReducer(taskReducer(s, { type: 'load/start', seq: 2, key: 'open' }), { type: 'load/failure', seq: 2, error: 'offline' })
    expect(same.items).toEqual([t1])
    expect(same.error).toBe('offline')
    const other = taskReducer(taskReducer(s, { type: 'load/start', seq: 2, key: 'done' }), { type: 'load/failure', seq: 2, error: 'offline' })
    expect(other.items).toEqual([])
  })

  it('applies optimistic updates and reverts them', () => {
    let s = taskReducer(loaded, { type: 'task/optimistic', id: t1.id, patch: { completed: true } })
    expect(visibleTasks(s, 'smart').find((t) => t.id === t1.id)?.completed).toBe(true)
    expect(s.items.find((t) => t.id === t1.id)?.completed).toBe(false) // server copy untouched
    s = taskReducer(s, { type: 'task/revert', id: t1.id })
    expect(visibleTasks(s, 'smart').find((t) => t.id === t1.id)?.completed).toBe(false)
  })

  it('confirms with the server version and drops the overlay', () => {
    let s = taskReducer(loaded, { type: 'task/optimistic', id: t1.id, patch: { title: 'local' } })
    s = taskReducer(s, { type: 'task/confirmed', task: { ...t1, title: 'server' } })
    expect(s.overrides).toEqual({})
    expect(visibleTasks(s, 'smart').find((t) => t.id === t1.id)?.title).toBe('server')
  })

  it('overrides survive a reload until confirmed', () => {
    let s = taskReducer(loaded, { type: 'task/optimistic', id: t1.id, patch: { title: 'editing' } })
    s = taskReducer(s, { type: 'load/start', seq: 5 })
    s = taskReducer(s, { type: 'load/success', seq: 5, items: [t1, t2], total: 2 })
    expect(visibleTasks(s, 'smart').find((t) => t.id === t1.id)?.title).toBe('editing')
  })

  it('adds created tasks once', () => {
    const t3 = task({ title: 'three' })
    let s = taskReducer(loaded, { type: 'task/added', task: t3 })
    s = taskReducer(s, { type: 'task/added', task: t3 })
    expect(s.items.map((t) => t.id)).toEqual([t3.id, t1.id, t2.id])
    expect(s.total).toBe(3)
  })

  it('hides pending deletes (also across reloads), undo restores', () => {
    let s = taskReducer(loaded, { type: 'delete/pending', task: t1 })
    expect(visibleTasks(s, 'smart').map((t) => t.id)).toEqual([t2.id])
    // a refresh (e.g. tasks_changed) during the undo window still hides it
    s = taskReducer(s, { type: 'load/start', seq: 9 })
    s = taskReducer(s, { type: 'load/success', seq: 9, items: [t1, t2], total: 2 })
    expect(visibleTasks(s, 'smart').map((t) => t.id)).toEqual([t2.id])
    const undone = taskReducer(s, { type: 'delete/undo', id: t1.id })
    expect(visibleTasks(undone, 'smart').map((t) => t.id)).toEqual([t1.id, t2.id])
    const committed = taskReducer(s, { type: 'delete/committed', id: t1.id })
    expect(committed.items.map((t) => t.id)).toEqual([t2.id])
    expect(committed.pendingDeletes).toEqual([])
    expect(committed.total).toBe(1)
  })

  it('restores a task when the delayed DELETE failed', () => {
    let s = taskReducer(loaded, { type: 'delete/pending', task: t2 })
    s = taskReducer(s, { type: 'delete/failed', id: t2.id })
    expect(visibleTasks(s, 'due').map((t) => t.id)).toEqual([t1.id, t2.id])
  })
})
