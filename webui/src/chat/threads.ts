// The conversation list as server state (TanStack Query): loaded with threads.list,
// kept current from stream events, renamed and deleted optimistically.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useCallback } from 'react'
import { keys } from '../api/queryClient'
import type { ChatKitClient, StreamEvent, ThreadMeta } from './protocol'

export const THREADS_PAGE = 50

/** The list after a stream event (a new or retitled thread goes to the top when unseen). */
export function applyThreadEvent(threads: ThreadMeta[], ev: StreamEvent): ThreadMeta[] {
  if (ev.type === 'thread.created') return [ev.thread, ...threads.filter((t) => t.id !== ev.thread.id)]
  if (ev.type === 'thread.updated') {
    return threads.some((t) => t.id === ev.thread.id)
      ? threads.map((t) => (t.id === ev.thread.id ? { ...t, ...ev.thread } : t))
      : [ev.thread, ...threads]
  }
  return threads
}

/** A fresh list, keeping the open thread when a (possibly stale) answer lacks it. */
export function keepActive(fresh: ThreadMeta[], previous: ThreadMeta[] | undefined, activeId: string | null): ThreadMeta[] {
  const active = activeId ? previous?.find((t) => t.id === activeId) : undefined
  return active && !fresh.some((t) => t.id === active.id) ? [active, ...fresh] : fresh
}

export function renamed(threads: ThreadMeta[], id: string, title: string): ThreadMeta[] {
  return threads.map((t) => (t.id === id ? { ...t, title } : t))
}

export function without(threads: ThreadMeta[], id: string): ThreadMeta[] {
  return threads.filter((t) => t.id !== id)
}

export function useThreads(client: ChatKitClient, activeId: () => string | null) {
  const qc = useQueryClient()
  const query = useQuery({
    queryKey: keys.threads,
    queryFn: async () => {
      const page = await client.listThreads(THREADS_PAGE)
      return keepActive(page.data ?? [], qc.getQueryData<ThreadMeta[]>(keys.threads), activeId())
    },
  })
  const onStreamEvent = useCallback(
    (ev: StreamEvent) => {
      if (ev.type === 'thread.created' || ev.type === 'thread.updated') {
        qc.setQueryData<ThreadMeta[]>(keys.threads, (list) => applyThreadEvent(list ?? [], ev))
      }
    },
    [qc],
  )
  const refresh = useCallback(() => qc.invalidateQueries({ queryKey: keys.threads, exact: true }), [qc])
  return { threads: query.data ?? [], loaded: query.isFetched, onStreamEvent, refresh }
}

/** Rename / delete with the documented optimistic pattern: snapshot, write, roll back. */
export function useThreadChanges(client: ChatKitClient, onError: (message: string) => void, onDeleted: (id: string) => void) {
  const qc = useQueryClient()
  const optimistic = async (change: (list: ThreadMeta[]) => ThreadMeta[]) => {
    await qc.cancelQueries({ queryKey: keys.threads, exact: true })
    const before = qc.getQueryData<ThreadMeta[]>(keys.threads)
    qc.setQueryData<ThreadMeta[]>(keys.threads, (list) => change(list ?? []))
    return before
  }
  const rollback = (before: ThreadMeta[] | undefined) => qc.setQueryData(keys.threads, before)
  const rename = useMutation({
    mutationFn: ({ id, title }: { id: string; title: string }) => client.renameThread(id, title),
    onMutate: ({ id, title }) => optimistic((list) => renamed(list, id, title)),
    onError: (e, _v, before) => {
      rollback(before)
      onError(`Could not rename: ${e.message}`)
    },
  })
  const remove = useMutation({
    mutationFn: (id: string) => client.deleteThread(id),
    onMutate: (id) => optimistic((list) => without(list, id)),
    onSuccess: (_r, id) => onDeleted(id),
    onError: (e, _id, before) => {
      rollback(before)
      onError(`Could not delete: ${e.message}`)
    },
  })
  return { rename: rename.mutate, remove: remove.mutate }
}
