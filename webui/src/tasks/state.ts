// The task panel's pure parts: filters → server query, tag lists, edit diffs. The
// server filters and sorts; nothing here re-implements either.

import type { Priority, SortKey as ServerSort, Task, TaskQuery, TaskUpdate, TaskWritable } from '../api/client'
import { DUE_SOON_DAYS, addDays, dueDate } from './dates'

export type StatusFilter = 'open' | 'done' | 'due_soon' | 'all' | 'today' | 'upcoming'
export type SortKey = 'smart' | 'due' | 'priority' | 'created' | 'title' | 'position'

export interface TaskFilter {
  status: StatusFilter
  priority: NonNullable<TaskQuery['priority']> | ''
  tag: string
  q: string
  sort: SortKey
  /** A list id ('' for every list). */
  list?: string
}

export const defaultFilter: TaskFilter = { status: 'open', priority: '', tag: '', q: '', sort: 'smart', list: '' }

const VIEW_KEY = 'taskchat.view'
const STATUSES: readonly StatusFilter[] = ['open', 'done', 'due_soon', 'all', 'today', 'upcoming']

/** The view (status tab and list) this window last showed: kept per window
 * (sessionStorage), so two windows can show different views. */
export function loadView(storage: Pick<Storage, 'getItem'> | undefined = globalThis.sessionStorage): TaskFilter {
  try {
    const saved = JSON.parse(storage?.getItem(VIEW_KEY) ?? 'null') as Partial<TaskFilter> | null
    if (!saved || typeof saved !== 'object') return defaultFilter
    const status = STATUSES.includes(saved.status as StatusFilter) ? (saved.status as StatusFilter) : 'open'
    const list = typeof saved.list === 'string' && saved.list.length <= 36 ? saved.list : ''
    return { ...defaultFilter, status, list }
  } catch {
    return defaultFilter
  }
}

export function saveView(f: TaskFilter, storage: Pick<Storage, 'setItem'> | undefined = globalThis.sessionStorage): void {
  try {
    storage?.setItem(VIEW_KEY, JSON.stringify({ status: f.status, list: f.list ?? '' }))
  } catch {
    /* storage full or blocked: the view is just not remembered */
  }
}

/** Tasks per page (the server's maximum): the panel loads more on scroll. */
export const PAGE_LIMIT = 500

/** The panel's sort choices in the server's terms ("smart" is its default). */
const SERVER_SORT: Record<SortKey, ServerSort> = {
  smart: 'smart',
  due: 'due',
  priority: '-priority',
  created: '-created_at',
  title: 'title',
  position: 'position',
}

export function buildTaskQuery(f: TaskFilter, today: string, pageSize = PAGE_LIMIT): TaskQuery {
  const q: TaskQuery = { limit: pageSize }
  if (f.status === 'open') q.completed = false
  if (f.status === 'done') q.completed = true
  if (f.status === 'due_soon') {
    q.completed = false
    q.due_before = addDays(today, DUE_SOON_DAYS + 1)
  }
  // Today: overdue and due today; Upcoming: due after today (open tasks, the server
  // reads "today" in the person's time zone).
  if (f.status === 'today' || f.status === 'upcoming') q.view = f.status
  if (f.priority) q.priority = f.priority
  if (f.tag) q.tag = f.tag
  if (f.q.trim()) q.q = f.q.trim()
  if (f.list) q.list_id = f.list
  if (f.sort !== 'smart') q.sort = SERVER_SORT[f.sort]
  return q
}

/** Client-side mirror of the server filter (used for optimistic changes). */
export function matchesFilter(t: Task, f: TaskFilter, today: string): boolean {
  if (f.status === 'open' && t.completed) return false
  if (f.status === 'done' && !t.completed) return false
  if (f.status === 'due_soon') {
    if (t.completed) return false
    const d = dueDate(t.due)
    if (!d || d > addDays(today, DUE_SOON_DAYS)) return false
  }
  if (f.status === 'today' || f.status === 'upcoming') {
    const d = dueDate(t.due)
    if (t.completed || !d) return false
    if (f.status === 'today' ? d > today : d <= today) return false
  }
  if (f.list && t.list_id !== undefined && t.list_id !== f.list) return false
  if (f.priority && t.priority !== f.priority) return false
  if (f.tag && !t.tags.some((x) => x.toLowerCase() === f.tag.toLowerCase())) return false
  const q = f.q.trim().toLowerCase()
  if (q) {
    const hay = `${t.title}\n${t.description ?? ''}\n${t.tags.join(' ')}`.toLowerCase()
    if (!hay.includes(q)) return false
  }
  return true
}

const PRIORITY_RANK: Record<Priority, number> = { high: 3, medium: 2, low: 1, none: 0 }

function cmpDue(a: Task, b: Task): number {
  const da = a.due ?? ''
  const db = b.due ?? ''
  if (da === db) return 0
  if (!da) return 1 // no due date last
  if (!db) return -1
  const ka = dueDate(da) ?? da
  const kb = dueDate(db) ?? db
  if (ka !== kb) return ka < kb ? -1 : 1
  // same day: date-only (all day) first, then by time
  return da < db ? -1 : 1
}

function cmpCreatedDesc(a: Task, b: Task): number {
  return a.created_at === b.created_at ? 0 : a.created_at < b.created_at ? 1 : -1
}

export function sortTasks(tasks: Task[], key: SortKey): Task[] {
  const arr = tasks.slice()
  const byPrio = (a: Task, b: Task) => PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority]
  switch (key) {
    case 'due':
      arr.sort((a, b) => cmpDue(a, b) || byPrio(a, b) || cmpCreatedDesc(a, b))
      break
    case 'priority':
      arr.sort((a, b) => byPrio(a, b) || cmpDue(a, b) || cmpCreatedDesc(a, b))
      break
    case 'created':
      arr.sort(cmpCreatedDesc)
      break
    case 'title':
      arr.sort((a, b) => a.title.localeCompare(b.title, undefined, { sensitivity: 'base' }) || cmpCreatedDesc(a, b))
      break
    case 'position':
      return byPosition(arr)
    case 'smart':
    default:
      arr.sort(
        (a, b) =>
          Number(a.completed) - Number(b.completed) || cmpDue(a, b) || byPrio(a, b) || cmpCreatedDesc(a, b),
      )
  }
  return arr
}

const cmpKey = (a: Task, b: Task) => {
  const pa = a.position ?? ''
  const pb = b.position ?? ''
  // Order keys compare by code unit (ASCII), like the server's "C" collation; ids break ties.
  return pa < pb ? -1 : pa > pb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** The person's own order: top-level tasks by key, each followed by its steps by key
 * (steps whose parent is not shown come last, in their own order). */
export function byPosition(tasks: Task[]): Task[] {
  const shown = new Set(tasks.map((t) => t.id))
  const steps = new Map<string, Task[]>()
  const top: Task[] = []
  for (const t of tasks) {
    if (t.parent_id && shown.has(t.parent_id)) {
      const list = steps.get(t.parent_id) ?? []
      list.push(t)
      steps.set(t.parent_id, list)
    } else top.push(t)
  }
  const out: Task[] = []
  for (const t of top.sort(cmpKey)) {
    out.push(t)
    out.push(...(steps.get(t.id) ?? []).sort(cmpKey))
  }
  return out
}

/** Any order: each task's steps right after it (in the order given), so a step never
 * shows under another task; steps whose parent is not shown stay where they are. */
export function groupSteps(tasks: Task[]): Task[] {
  const shown = new Set(tasks.map((t) => t.id))
  const steps = new Map<string, Task[]>()
  for (const t of tasks) {
    if (t.parent_id && shown.has(t.parent_id)) steps.set(t.parent_id, [...(steps.get(t.parent_id) ?? []), t])
  }
  if (!steps.size) return tasks
  const out: Task[] = []
  for (const t of tasks) {
    if (t.parent_id && shown.has(t.parent_id)) continue
    out.push(t, ...(steps.get(t.id) ?? []))
  }
  return out
}

/** The sibling (same parent) just before (-1) or after (+1) a task in a shown order. */
export function siblingOf(tasks: Task[], id: string, dir: -1 | 1): Task | null {
  const i = tasks.findIndex((t) => t.id === id)
  if (i < 0) return null
  const parent = tasks[i].parent_id ?? null
  for (let j = i + dir; j >= 0 && j < tasks.length; j += dir) {
    if ((tasks[j].parent_id ?? null) === parent) return tasks[j]
  }
  return null
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
  if (after.recurrence !== undefined && (after.recurrence || null) !== (before.recurrence || null)) {
    out.recurrence = after.recurrence || null
  }
  if (after.remind_at !== undefined && (after.remind_at || null) !== (before.remind_at || null)) {
    out.remind_at = after.remind_at || null
  }
  return out
}
