// Task lists and task changes through TanStack Query: one cached list per filter,
// optimistic edits written into every cached list and rolled back on failure.

import { type InfiniteData, type QueryClient, keepPreviousData, useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query'
import { useCallback, useEffect, useRef } from 'react'
import { ApiError, api, type Task, type TaskPage, type TaskQuery, type TaskUpdate, type TaskWritable } from '../api/client'
import { errorMessage, keys } from '../api/queryClient'

/** Pages of `query.limit` tasks: the next one starts where the loaded ones end. */
export function useTasks(query: TaskQuery) {
  return useInfiniteQuery({
    queryKey: keys.taskList(query),
    queryFn: ({ pageParam, signal }) => api.listTasks(pageParam ? { ...query, offset: pageParam } : query, signal),
    initialPageParam: 0,
    getNextPageParam: (last, pages) => {
      const loaded = pages.reduce((n, p) => n + p.items.length, 0)
      return last.items.length > 0 && loaded < last.total ? loaded : undefined
    },
    // Keep showing the old list while a new filter loads (not after it failed).
    placeholderData: keepPreviousData,
  })
}

/** The loaded tasks, once each (a task that moved between pages while paging shows once). */
export function flatten(data: InfiniteData<TaskPage> | undefined): Task[] {
  const pages = data?.pages ?? []
  if (pages.length === 1) return pages[0].items
  const seen = new Set<string>()
  return pages.flatMap((p) => p.items).filter((t) => !seen.has(t.id) && !!seen.add(t.id))
}

type Cached = InfiniteData<TaskPage, number>
type Snapshot = [readonly unknown[], Cached | undefined][]

/** Applies `fn` to each loaded page of every cached list (page 0 first), keeping totals right. */
function mapLists(qc: QueryClient, fn: (items: Task[], page: number) => Task[], filter: { type?: 'active' } = {}) {
  qc.setQueriesData<Cached>({ queryKey: [...keys.tasks, 'list'], ...filter }, (data) => {
    if (!data) return data
    let delta = 0
    const pages = data.pages.map((page, i) => {
      const items = fn(page.items, i)
      delta += items.length - page.items.length
      return items === page.items ? page : { ...page, items }
    })
    if (!delta && pages.every((p, i) => p === data.pages[i])) return data
    return { ...data, pages: pages.map((p) => ({ ...p, total: Math.max(0, p.total + delta) })) }
  })
}

/** Writes a change into every cached list now; returns what to restore on failure. */
async function optimistic(qc: QueryClient, id: string, patch: Partial<Task>): Promise<Snapshot> {
  await qc.cancelQueries({ queryKey: [...keys.tasks, 'list'] })
  const snapshot = qc.getQueriesData<Cached>({ queryKey: [...keys.tasks, 'list'] })
  mapLists(qc, (items) => items.map((t) => (t.id === id ? { ...t, ...patch } : t)))
  return snapshot
}

function restore(qc: QueryClient, snapshot: Snapshot | undefined) {
  for (const [key, data] of snapshot ?? []) qc.setQueryData(key, data)
}

export function replaceTask(qc: QueryClient, task: Task) {
  mapLists(qc, (items) => (items.some((t) => t.id === task.id) ? items.map((t) => (t.id === task.id ? task : t)) : items))
}

export function removeTask(qc: QueryClient, id: string) {
  mapLists(qc, (items) => (items.some((t) => t.id === id) ? items.filter((t) => t.id !== id) : items))
}

/** Refetch the task lists a little later, so a changed row stays in view for a moment. */
export function useSoftRefresh() {
  const qc = useQueryClient()
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current)
  }, [])
  return useCallback(
    (delay: number) => {
      if (timer.current) clearTimeout(timer.current)
      timer.current = setTimeout(() => void qc.invalidateQueries({ queryKey: keys.tasks }), delay)
    },
    [qc],
  )
}

interface Handlers {
  onError: (message: string) => void
}

/** Complete / reopen; the list refetches at once (completing offers Undo instead of a lingering row). */
/** What completing a task with open steps does: the server asks (409) unless told. */
export type StepsPolicy = 'complete' | 'leave'
export interface ToggleVars {
  task: Task
  steps?: StepsPolicy
}

/** The server refused to complete a task because it has open steps (subtasks=ask). */
export const isOpenStepsConflict = (e: unknown) => e instanceof ApiError && e.status === 409 && e.code === 'conflict'

export function useToggleTask({ onError, onOpenSteps }: Handlers & { onOpenSteps?: (task: Task) => void }) {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: ({ task, steps }: ToggleVars) => api.completeTask(task.id, !task.completed, task.completed ? undefined : steps),
    onMutate: ({ task }) => {
      const completed = !task.completed
      return optimistic(qc, task.id, { completed, completed_at: completed ? new Date().toISOString() : null })
    },
    onSuccess: (saved) => replaceTask(qc, saved),
    onError: (e, { task }, snapshot) => {
      restore(qc, snapshot)
      // Steps the cached counts did not know about: ask, as for the ones it knew.
      if (onOpenSteps && !task.completed && isOpenStepsConflict(e)) onOpenSteps(task)
      else onError(e.message)
    },
    onSettled: () => qc.invalidateQueries({ queryKey: keys.tasks }),
  })
}

export function useUpdateTask({ onError }: Handlers) {
  const qc = useQueryClient()
  const refresh = useSoftRefresh()
  return useMutation({
    mutationFn: ({ task, patch }: { task: Task; patch: TaskUpdate }) => api.updateTask(task.id, patch),
    onMutate: ({ task, patch }) => optimistic(qc, task.id, patch as Partial<Task>),
    onSuccess: (saved) => replaceTask(qc, saved),
    onError: (e, _vars, snapshot) => {
      restore(qc, snapshot)
      onError(e.message)
    },
    onSettled: () => refresh(300),
  })
}

export function useCreateTask({ onError, onCreated }: Handlers & { onCreated: () => void }) {
  const qc = useQueryClient()
  const refresh = useSoftRefresh()
  return useMutation({
    mutationFn: (fields: TaskWritable) => api.createTask(fields),
    onSuccess: (created, _fields) => {
      // Shown at once in the list on screen; the refetch puts it in its sorted place.
      mapLists(qc, (items, page) => (page > 0 || items.some((t) => t.id === created.id) ? items : [created, ...items]), { type: 'active' })
      onCreated()
      refresh(300)
    },
    onError: (e) => onError(e.message),
  })
}

/** Moves a task (app/lists: my order, another list or parent): the server's answer goes
 * into every cached list at once, then the lists reload. Resolves the moved task, or null
 * on failure. */
export function useMoveTask({ onError }: { onError: (message: string) => void }) {
  const qc = useQueryClient()
  return useCallback(
    async (id: string, where: Parameters<typeof api.moveTask>[1]): Promise<Task | null> => {
      try {
        const saved = await api.moveTask(id, where)
        const ok = saved && typeof saved === 'object' && 'id' in saved
        if (ok) mapLists(qc, (items) => items.map((t) => (t.id === saved.id ? { ...t, ...saved } : t)))
        void qc.invalidateQueries({ queryKey: keys.tasks })
        return ok ? saved : null
      } catch (e) {
        onError(errorMessage(e))
        return null
      }
    },
    [qc, onError],
  )
}
