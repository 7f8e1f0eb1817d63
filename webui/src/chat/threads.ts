// The conversation list as server state (TanStack Query): loaded with threads.list,
// kept current from stream events, renamed and deleted optimistically.

import { type InfiniteData, useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query'
import { useCallback, useMemo } from 'react'
import { keys } from '../api/queryClient'
import type { ChatKitClient, Page, StreamEvent, ThreadMeta } from './protocol'

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

type Cached = InfiniteData<Page<ThreadMeta>, string | null>

/** Applies a change to the loaded threads (`first` only to the first page). */
function mapThreads(data: Cached | undefined, fn: (list: ThreadMeta[]) => ThreadMeta[], first = false): Cached | undefined {
  if (!data) return data
  return { ...data, pages: data.pages.map((p, i) => (first && i > 0 ? p : { ...p, data: fn(p.data ?? []) })) }
}

function flatten(data: Cached | undefined): ThreadMeta[] {
  const seen = new Set<string>()
  return (data?.pages ?? []).flatMap((p) => p.data ?? []).filter((t) => !seen.has(t.id) && !!seen.add(t.id))
}

/** The conversation list, THREADS_PAGE at a time (threads.list's cursor). */
export function useThreads(client: ChatKitClient, activeId: () => string | null) {
  const qc = useQueryClient()
  const query = useInfiniteQuery({
    queryKey: keys.threads,
    queryFn: async ({ pageParam }) => {
      const page = await client.listThreads(THREADS_PAGE, pageParam)
      if (pageParam) return page
      const before = flatten(qc.getQueryData<Cached>(keys.threads))
      return { ...page, data: keepActive(page.data ?? [], before, activeId()) }
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => (last.has_more && last.after ? last.after : undefined),
  })
  const onStreamEvent = useCallback(
    (ev: StreamEvent) => {
      if (ev.type !== 'thread.created' && ev.type !== 'thread.updated') return
      if (!qc.getQueryData(keys.threads)) {
        qc.setQueryData<Cached>(keys.threads, { pages: [{ data: [], has_more: false }], pageParams: [null] })
      }
      qc.setQueryData<Cached>(keys.threads, (data) => mapThreads(data, (list) => applyThreadEvent(list, ev), true))
    },
    [qc],
  )
  const refresh = useCallback(() => qc.invalidateQueries({ queryKey: keys.threads, exact: true }), [qc])
  const threads = useMemo(() => flatten(query.data as Cached | undefined), [query.data])
  return {
    threads,
    loaded: query.isFetched,
    hasMore: query.hasNextPage,
    loadingMore: query.isFetchingNextPage,
    loadMore: query.fetchNextPage,
    onStreamEvent,
    refresh,
  }
}

/** Rename / delete with the documented optimistic pattern: snapshot, write, roll back. */
export function useThreadChanges(client: ChatKitClient, onError: (message: string) => void, onDeleted: (id: string) => void) {
  const qc = useQueryClient()
  const optimistic = async (change: (list: ThreadMeta[]) => ThreadMeta[]) => {
    await qc.cancelQueries({ queryKey: keys.threads, exact: true })
    const before = qc.getQueryData<Cached>(keys.threads)
    qc.setQueryData<Cached>(keys.threads, (data) => mapThreads(data, change))
    return before
  }
  const rollback = (before: Cached | undefined) => qc.setQueryData(keys.threads, before)
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
