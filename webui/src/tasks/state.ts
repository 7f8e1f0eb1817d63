// Pure state for the task panel: filters → query, client-side filtering and
// sorting, optimistic updates, delayed delete with undo. Unit-tested.

import type { Priority, Task, TaskQuery, TaskWritable } from '../api/client'

export type StatusFilter = 'open' | 'done' | 'due_soon' | 'all' | 'today' | 'upcoming'
export type SortKey = 'smart' | 'due' | 'priority' | 'created' | 'title' | 'position'

export interface TaskFilter {
  status: StatusFilter
  priority: Priority | ''
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

export const DUE_SOON_DAYS = 7
export const PAGE_LIMIT = 500

// ---------------------------------------------------------------- dates

/** Local calendar date as YYYY-MM-DD. */
export function isoDate(d: Date): string {
  const y = d.getFullYear()
  const m = String(d.getMonth() + 1).padStart(2, '0')
  const day = String(d.getDate()).padStart(2, '0')
  return `${y}-${m}-${day}`
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number)
  return isoDate(new Date(y, m - 1, d + days))
}

/** The calendar date (YYYY-MM-DD) of a due value (date or ISO datetime). */
export function dueDate(due: string | null | undefined): string | null {
  if (!due) return null
  if (/^\d{4}-\d{2}-\d{2}$/.test(due)) return due
  const t = Date.parse(due)
  if (!Number.isNaN(t)) return isoDate(new Date(t))
  return due.slice(0, 10)
}

export function hasTime(due: string | null | undefined): boolean {
  return !!due && /T\d{2}:\d{2}/.test(due)
}

export type DueState = 'overdue' | 'today' | 'soon' | 'later' | null

export function dueState(task: Pick<Task, 'due' | 'completed'>, today: string): DueState {
  const d = dueDate(task.due)
  if (!d) return null
  if (d < today) return task.completed ? 'later' : 'overdue'
  if (d === today) return 'today'
  if (d <= addDays(today, DUE_SOON_DAYS)) return 'soon'
  return 'later'
}

export function formatDue(due: string | null | undefined, today: string): string {
  const d = dueDate(due)
  if (!d || !due) return ''
  let label: string
  if (d === today) label = 'Today'
  else if (d === addDays(today, 1)) label = 'Tomorrow'
  else if (d === addDays(today, -1)) label = 'Yesterday'
  else {
    const [y, m, day] = d.split('-').map(Number)
    const date = new Date(y, m - 1, day)
    const sameYear = d.slice(0, 4) === today.slice(0, 4)
    label = date.toLocaleDateString(undefined, {
      weekday: d > today && d <= addDays(today, 6) ? 'short' : undefined,
      month: 'short',
      day: 'numeric',
      year: sameYear ? undefined : 'numeric',
    })
  }
  if (hasTime(due)) {
    const t = new Date(due)
    if (!Number.isNaN(t.getTime())) label += ` ${t.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}`
  }
  return label
}

// ---------------------------------------------------------------- query / filter

export function buildTaskQuery(f: TaskFilter, today: string): TaskQuery {
  const q: TaskQuery = { limit: PAGE_LIMIT }
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

// ---------------------------------------------------------------- quick add

/**
 * "Buy milk #errands !high" → {title: "Buy milk", tags: ["errands"], priority: "high"}.
 */
export function parseQuickAdd(input: string): TaskWritable | null {
  const tags: string[] = []
  let priority: Priority | undefined
  const words = input.trim().split(/\s+/).filter(Boolean)
  const rest: string[] = []
  for (const w of words) {
    const tag = /^#([\p{L}\p{N}_-]+)$/u.exec(w)
    const prio = /^!(high|medium|med|low|none)$/i.exec(w)
    if (tag) {
      if (!tags.includes(tag[1])) tags.push(tag[1])
    } else if (prio) {
      const p = prio[1].toLowerCase()
      priority = (p === 'med' ? 'medium' : p) as Priority
    } else rest.push(w)
  }
  const title = rest.join(' ')
  if (!title) return null
  const out: TaskWritable = { title }
  if (tags.length) out.tags = tags
  if (priority) out.priority = priority
  return out
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
export function diffTask(before: Task, after: Partial<TaskWritable>): Partial<TaskWritable> {
  const out: Partial<TaskWritable> = {}
  if (after.title !== undefined && after.title !== before.title) out.title = after.title
  if (after.description !== undefined && after.description !== (before.description ?? '')) out.description = after.description
  if (after.priority !== undefined && after.priority !== before.priority) out.priority = after.priority
  if (after.due !== undefined && (after.due || null) !== (before.due || null)) out.due = after.due || null
  if (after.completed !== undefined && after.completed !== before.completed) out.completed = after.completed
  if (after.tags !== undefined && after.tags.join('\u0000') !== before.tags.join('\u0000')) out.tags = after.tags
  return out
}

/** The writable fields of a task (to re-create it on undo). */
export function writableFields(t: Task): TaskWritable {
  return {
    title: t.title,
    description: t.description ?? '',
    completed: t.completed,
    priority: t.priority,
    due: t.due,
    tags: t.tags.slice(),
  }
}

// ---------------------------------------------------------------- reducer

export interface TaskState {
  items: Task[]
  total: number
  loaded: boolean
  loading: boolean
  error: string | null
  /** Sequence number of the latest load request; older answers are ignored. */
  loadSeq: number
  /** Query the current items answer (so a failed load for another filter clears them). */
  itemsKey: string
  pendingKey: string
  /** Tasks deleted in the UI whose DELETE is still delayed (undo window). */
  pendingDeletes: Task[]
  /** Local edits not yet confirmed, by id (overlay over server data). */
  overrides: Record<string, Partial<Task>>
}

export const initialTaskState: TaskState = {
  items: [],
  total: 0,
  loaded: false,
  loading: false,
  error: null,
  loadSeq: 0,
  itemsKey: '',
  pendingKey: '',
  pendingDeletes: [],
  overrides: {},
}

export type TaskAction =
  | { type: 'load/start'; seq: number; key?: string }
  | { type: 'load/success'; seq: number; items: Task[]; total: number }
  | { type: 'load/failure'; seq: number; error: string }
  | { type: 'task/optimistic'; id: string; patch: Partial<Task> }
  | { type: 'task/confirmed'; task: Task }
  | { type: 'task/revert'; id: string }
  | { type: 'task/added'; task: Task }
  | { type: 'delete/pending'; task: Task }
  | { type: 'delete/undo'; id: string }
  | { type: 'delete/committed'; id: string }
  | { type: 'delete/failed'; id: string }

export function taskReducer(state: TaskState, a: TaskAction): TaskState {
  switch (a.type) {
    case 'load/start':
      if (a.seq < state.loadSeq) return state
      return { ...state, loading: true, loadSeq: a.seq, pendingKey: a.key ?? '' }
    case 'load/success':
      if (a.seq < state.loadSeq) return state
      return { ...state, items: a.items, total: a.total, loaded: true, loading: false, error: null, itemsKey: state.pendingKey }
    case 'load/failure': {
      if (a.seq < state.loadSeq) return state
      // Items of a different filter would be misleading next to the error.
      const stale = state.pendingKey !== state.itemsKey
      return {
        ...state,
        loaded: true,
        loading: false,
        error: a.error,
        items: stale ? [] : state.items,
        total: stale ? 0 : state.total,
        itemsKey: stale ? state.pendingKey : state.itemsKey,
      }
    }
    case 'task/optimistic':
      return { ...state, overrides: { ...state.overrides, [a.id]: { ...state.overrides[a.id], ...a.patch } } }
    case 'task/confirmed': {
      const overrides = { ...state.overrides }
      delete overrides[a.task.id]
      const items = state.items.map((t) => (t.id === a.task.id ? a.task : t))
      return { ...state, items, overrides }
    }
    case 'task/revert': {
      const overrides = { ...state.overrides }
      delete overrides[a.id]
      return { ...state, overrides }
    }
    case 'task/added':
      if (state.items.some((t) => t.id === a.task.id)) return state
      return { ...state, items: [a.task, ...state.items], total: state.total + 1 }
    case 'delete/pending':
      if (state.pendingDeletes.some((t) => t.id === a.task.id)) return state
      return { ...state, pendingDeletes: [...state.pendingDeletes, a.task] }
    case 'delete/undo':
    case 'delete/failed':
      return { ...state, pendingDeletes: state.pendingDeletes.filter((t) => t.id !== a.id) }
    case 'delete/committed':
      return {
        ...state,
        pendingDeletes: state.pendingDeletes.filter((t) => t.id !== a.id),
        items: state.items.filter((t) => t.id !== a.id),
        total: state.items.some((t) => t.id === a.id) ? Math.max(0, state.total - 1) : state.total,
      }
  }
}

/** What the panel shows: server items + local overrides − pending deletes, sorted. */
export function visibleTasks(state: TaskState, sort: SortKey): Task[] {
  const hidden = new Set(state.pendingDeletes.map((t) => t.id))
  const merged = state.items
    .filter((t) => !hidden.has(t.id))
    .map((t) => (state.overrides[t.id] ? { ...t, ...state.overrides[t.id] } : t))
  return sortTasks(merged, sort)
}
