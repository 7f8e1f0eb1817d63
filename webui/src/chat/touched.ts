// Which tasks each reply touched: from the thread's task links (server state), plus the
// ones the current turn's tasks_changed effects named live.

import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useCallback } from 'react'
import { api } from '../api/client'
import { keys } from '../api/queryClient'
import type { ThreadItem } from './protocol'

/** A task a reply touched. */
export interface Touched {
  id: string
  title: string
  action: string
}

/** One row of GET /api/threads/{id}/task-links. */
export interface TaskLink {
  item_id: string | null
  task_id: string
  title: string
  action: string
}

/** The links of a task-links answer (the schema types it as a plain object). */
export function parseLinks(body: Record<string, unknown>): TaskLink[] {
  const links = Array.isArray(body.links) ? (body.links as Partial<TaskLink>[]) : []
  return links
    .filter((l) => typeof l?.task_id === 'string')
    .map((l) => ({ item_id: l.item_id ?? null, task_id: String(l.task_id), title: String(l.title ?? ''), action: String(l.action ?? 'updated') }))
}

/** Chips per item id: each link's turn (user message) → the reply that followed it. */
export function touchedByItem(items: ThreadItem[], links: TaskLink[]): Map<string, Touched[]> {
  const out = new Map<string, Touched[]>()
  const index = new Map(items.map((it, i) => [it.id, i]))
  for (const link of links) {
    const at = link.item_id ? index.get(link.item_id) : undefined
    if (at === undefined) continue
    let target = items[at].id
    for (let i = at + 1; i < items.length && items[i].type !== 'user_message'; i++) {
      if (items[i].type === 'assistant_message') {
        target = items[i].id
        break
      }
    }
    const list = out.get(target) ?? []
    if (!list.some((t) => t.id === link.task_id)) list.push({ id: link.task_id, title: link.title, action: link.action })
    out.set(target, list)
  }
  return out
}

export function mergeTouched(a: Touched[] | undefined, b: Touched[]): Touched[] {
  const out = [...(a ?? [])]
  for (const t of b) if (!out.some((x) => x.id === t.id)) out.push(t)
  return out
}

/** The tasks a tasks_changed effect names. */
export function touchedFromEffect(data: Record<string, unknown> | undefined): Touched[] {
  if (!Array.isArray(data?.tasks)) return []
  const action = typeof data.action === 'string' ? data.action : 'changed'
  return (data.tasks as { id?: unknown; title?: unknown }[])
    .filter((t) => typeof t?.id === 'string')
    .map((t) => ({ id: String(t.id), title: String(t.title ?? ''), action }))
}

/** The thread's task links; chips are a convenience, so a failure just leaves them out. */
export function useTaskLinks(threadId: string | null) {
  const qc = useQueryClient()
  const query = useQuery({
    queryKey: keys.taskLinks(threadId ?? ''),
    queryFn: async () => parseLinks(await api.threadTaskLinks(threadId!)),
    enabled: !!threadId,
  })
  const refresh = useCallback((id: string | null) => id && qc.invalidateQueries({ queryKey: keys.taskLinks(id) }), [qc])
  return { links: query.data ?? [], updatedAt: query.dataUpdatedAt, refresh }
}
