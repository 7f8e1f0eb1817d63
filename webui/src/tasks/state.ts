// The task panel's pure parts: filters → server query, tag lists, edit diffs. The
// server filters and sorts; nothing here re-implements either.

import type { SortKey as ServerSort, Task, TaskQuery, TaskUpdate, TaskWritable } from '../api/client'
import { DUE_SOON_DAYS, addDays } from './dates'

export type StatusFilter = 'open' | 'done' | 'due_soon' | 'all'
export type SortKey = 'smart' | 'due' | 'priority' | 'created' | 'title'

export interface TaskFilter {
  status: StatusFilter
  priority: NonNullable<TaskQuery['priority']> | ''
  tag: string
  q: string
  sort: SortKey
}

export const defaultFilter: TaskFilter = { status: 'open', priority: '', tag: '', q: '', sort: 'smart' }

/** Tasks per page (the server's maximum): the panel loads more on scroll. */
export const PAGE_LIMIT = 500

/** The panel's sort choices in the server's terms ("smart" is its default). */
const SERVER_SORT: Record<SortKey, ServerSort> = {
  smart: 'smart',
  due: 'due',
  priority: '-priority',
  created: '-created_at',
  title: 'title',
}

export function buildTaskQuery(f: TaskFilter, today: string, pageSize = PAGE_LIMIT): TaskQuery {
  const q: TaskQuery = { limit: pageSize }
  if (f.status === 'open') q.completed = false
  if (f.status === 'done') q.completed = true
  if (f.status === 'due_soon') {
    q.completed = false
    q.due_before = addDays(today, DUE_SOON_DAYS + 1)
  }
  if (f.priority) q.priority = f.priority
  if (f.tag) q.tag = f.tag
  if (f.q.trim()) q.q = f.q.trim()
  if (f.sort !== 'smart') q.sort = SERVER_SORT[f.sort]
  return q
}

export function allTags(tasks: Task[], extra?: string): string[] {
  const set = new Map<string, string>()
  for (const t of tasks) for (const tag of t.tags) if (!set.has(tag.toLowerCase())) set.set(tag.toLowerCase(), tag)
  if (extra && !set.has(extra.toLowerCase())) set.set(extra.toLowerCase(), extra)
  return [...set.values()].sort((a, b) => a.localeCompare(b))
}

export function parseTags(s: string): string[] {
  const out: string[] = []
  for (const raw of s.split(/[,\s]+/)) {
    const t = raw.replace(/^#/, '').trim()
    if (t && !out.some((x) => x.toLowerCase() === t.toLowerCase())) out.push(t)
  }
  return out
}

/** Only the fields that changed (for PATCH). */
export function diffTask(before: Task, after: Partial<TaskWritable>): TaskUpdate {
  const out: TaskUpdate = {}
  if (after.title !== undefined && after.title !== before.title) out.title = after.title
  if (after.description !== undefined && after.description !== (before.description ?? '')) out.description = after.description
  if (after.priority !== undefined && after.priority !== before.priority) out.priority = after.priority
  if (after.due !== undefined && (after.due || null) !== (before.due || null)) out.due = after.due || null
  if (after.completed !== undefined && after.completed !== before.completed) out.completed = after.completed
  if (after.tags !== undefined && after.tags.join('\u0000') !== before.tags.join('\u0000')) out.tags = after.tags
  return out
}
