// @vitest-environment node
import { describe, expect, it } from 'vitest'
import type { Task } from '../api/client'
import { taskQueryString } from '../api/client'
import { addDays, dueDate, dueState, formatDue, toLocalInput } from './dates'
import { allTags, buildTaskQuery, defaultFilter, diffTask, parseTags } from './state'

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
  it('asks the server for the chosen order (smart is its default)', () => {
    const sort = (key: typeof defaultFilter.sort) => buildTaskQuery({ ...defaultFilter, sort: key }, TODAY).sort
    expect(sort('smart')).toBeUndefined()
    expect(sort('due')).toBe('due')
    expect(sort('priority')).toBe('-priority')
    expect(sort('created')).toBe('-created_at')
    expect(sort('title')).toBe('title')
  })
})

describe('quick add & editing helpers', () => {
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
  it('lists tags once, case-insensitively, sorted, with the filtered one kept', () => {
    expect(allTags([task({ tags: ['work', 'Home'] }), task({ tags: ['home', 'zeta'] })], 'errands')).toEqual(['errands', 'Home', 'work', 'zeta'])
  })
})

describe('due labels', () => {
  it('names nearby days and keeps the year only when it differs', () => {
    expect(formatDue(TODAY, TODAY)).toBe('Today')
    expect(formatDue('2026-11-25', TODAY)).toBe('Tomorrow')
    expect(formatDue('2026-11-23', TODAY)).toBe('Yesterday')
    expect(formatDue('2027-01-05', TODAY)).toMatch(/2027/)
    expect(formatDue('2026-12-20', TODAY)).not.toMatch(/2026/)
    expect(formatDue(null, TODAY)).toBe('')
  })
  it('turns an instant into a local datetime-local value', () => {
    const local = new Date(2026, 10, 30, 14, 5)
    expect(toLocalInput(local.toISOString())).toBe('2026-11-30T14:05')
  })
})
