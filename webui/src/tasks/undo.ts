// Undo for changes the assistant made. Each tasks_changed effect from a tool carries a
// `change_id`; the panel offers "Undo" for it (the server keeps changes 15 minutes, the
// bar shows each one for UNDO_SHOW_MS) and POSTs /api/tasks/undo/{change_id}.

import { sessionFetch, errorFromResponse } from '../api/client'

export const UNDO_SHOW_MS = 2 * 60 * 1000
const MAX_SHOWN = 3

export interface UndoEntry {
  changeId: string
  /** "Deleted 2 tasks", "Added “Buy milk”", … */
  label: string
  expiresAt: number
}

const VERBS: Record<string, string> = {
  created: 'Added',
  updated: 'Changed',
  completed: 'Completed',
  reopened: 'Reopened',
  deleted: 'Deleted',
}

/** The undo entry a tasks_changed effect offers, or null when it offers none. */
export function undoFromEffect(data: Record<string, unknown> | undefined, now: number): UndoEntry | null {
  const changeId = data?.change_id
  if (typeof changeId !== 'string' || !changeId) return null
  const verb = VERBS[String(data?.action ?? '')] ?? 'Changed'
  const tasks = Array.isArray(data?.tasks) ? (data.tasks as { title?: unknown }[]) : []
  const ids = Array.isArray(data?.ids) ? data.ids : []
  const count = tasks.length || ids.length || 1
  const title = tasks.length === 1 && typeof tasks[0]?.title === 'string' ? tasks[0].title : null
  const what = title ? `“${title.length > 40 ? `${title.slice(0, 39)}…` : title}”` : `${count} task${count === 1 ? '' : 's'}`
  return { changeId, label: `${verb} ${what}`, expiresAt: now + UNDO_SHOW_MS }
}

/** Newest first, expired ones dropped, at most MAX_SHOWN. */
export function addUndo(list: UndoEntry[], entry: UndoEntry, now: number): UndoEntry[] {
  return [entry, ...list.filter((e) => e.changeId !== entry.changeId)].filter((e) => e.expiresAt > now).slice(0, MAX_SHOWN)
}

export function pruneUndo(list: UndoEntry[], now: number): UndoEntry[] {
  const kept = list.filter((e) => e.expiresAt > now)
  return kept.length === list.length ? list : kept
}

export async function undoChange(changeId: string, fetchImpl: typeof fetch = sessionFetch): Promise<void> {
  const res = await fetchImpl(`/api/tasks/undo/${encodeURIComponent(changeId)}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  })
  if (!res.ok) throw await errorFromResponse(res)
}
