// The task panel: views and filters over the server's list, quick add, rows, editor.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { Task, TaskSource, TaskWritable } from '../api/client'
import { errorMessage } from '../api/queryClient'
import type { TaskTarget } from '../search/targets'
import { IconSearch } from '../ui/icons'
import { LoadMore } from '../ui/LoadMore'
import { useShortcut } from '../ui/shortcuts'
import { ToastHost, useToasts } from '../ui/toasts'
import { useReminderToasts } from './useReminderToasts'
import { isoDate } from './dates'
import { EmptyTasks } from './EmptyTasks'
import { ListManager } from './ListManager'
import { QuickAdd } from './QuickAdd'
import { TaskFilters, TaskViews } from './TaskFilters'
import { TaskList } from './TaskList'
import {
  type TaskFilter,
  allTags,
  buildTaskQuery,
  byPosition,
  defaultFilter,
  diffTask,
  groupSteps,
  loadView,
  saveView,
} from './state'
import { useCompleteTask } from './useCompleteTask'
import { UNDO_WINDOW_MS, useDeleteWithUndo } from './useDeleteWithUndo'
import { useFocusTask } from './useFocusTask'
import { useLists } from './useLists'
import { useTaskMoves } from './useTaskMoves'
import { flatten, useTasks, useUpdateTask } from './useTasks'
import '../search/search.css'
import './tasks.css'

export { UNDO_WINDOW_MS }

interface Props {
  onFirstLoad: () => void
  /** The person's time zone setting (quick-add dates); the browser's when empty. */
  timeZone?: string | null
  /** Scroll to and flash this task (from search). */
  focusTask?: TaskTarget | null
  /** Open the chat thread a task came from. */
  onOpenSource?: (source: TaskSource) => void
  /** Tasks per page (tests use small pages). */
  pageSize?: number
}

export default function TaskPanel({ onFirstLoad, timeZone, focusTask, onOpenSource, pageSize }: Props) {
  const [filter, setFilter] = useState<TaskFilter>(() => loadView())
  useEffect(() => saveView(filter), [filter])
  const [search, setSearch] = useState('')
  const [editingId, setEditingId] = useState<string | null>(null)
  const [managing, setManaging] = useState(false)
  // A deleted or archived list: stop filtering by it.
  const onListGone = useCallback((id: string) => setFilter((f) => (f.list === id ? { ...f, list: '' } : f)), [])
  const { toasts, push, dismiss } = useToasts()
  const onError = useCallback((message: string) => void push({ kind: 'error', message }), [push])
  const today = isoDate(new Date())

  // Debounce the search box into the filter.
  useEffect(() => {
    const t = setTimeout(() => setFilter((f) => (f.q === search ? f : { ...f, q: search })), 250)
    return () => clearTimeout(t)
  }, [search])

  const list = useTasks(buildTaskQuery(filter, today, pageSize))
  const { pending, remove } = useDeleteWithUndo(push)
  // Completing offers Undo, as deleting does; open steps are asked about first.
  const { toggle, dialog: stepsDialog } = useCompleteTask(push, onError)
  const update = useUpdateTask({ onError }).mutate

  const settled = !list.isPending
  const firstLoad = useRef(onFirstLoad)
  firstLoad.current = onFirstLoad
  useEffect(() => {
    if (settled) firstLoad.current()
  }, [settled])
  // Asked for after the tasks (this hook's query starts after the task query's).
  const lists = useLists()

  const listById = useMemo(() => new Map(lists.map((l) => [l.id, l])), [lists])
  const items = useMemo(() => flatten(list.data), [list.data])
  const { moved, shown: shownRef, moveBy, dropOn } = useTaskMoves(onError)
  const tasks = useMemo(() => {
    const hidden = new Set(pending.map((t) => t.id))
    let shown = hidden.size ? items.filter((t) => !hidden.has(t.id)) : items
    if (moved.size) {
      shown = shown.map((t) => {
        const m = moved.get(t.id)
        return m && m.updated_at >= t.updated_at ? { ...t, ...m } : t
      })
    }
    // "My order": each task followed by its steps, all by their order keys; other orders
    // keep the server's order but show a task's steps right under it.
    return filter.sort === 'position' ? byPosition(shown) : groupSteps(shown)
  }, [items, pending, filter.sort, moved])
  // The server's total (all pages), less the rows waiting for their delayed DELETE.
  const total = Math.max(0, (list.data?.pages[0]?.total ?? 0) - (items.length - tasks.length))
  const tags = useMemo(() => allTags(items, filter.tag || undefined), [items, filter.tag])
  const filtered = filter.status !== 'open' || !!filter.priority || !!filter.tag || !!filter.q || !!filter.list

  shownRef.current = tasks
  const myOrder = filter.sort === 'position'

  const resetFilter = useCallback((f: TaskFilter) => {
    setSearch('')
    setFilter(f)
  }, [])
  const flashId = useFocusTask(focusTask, tasks, list.isFetching, filter, resetFilter)
  const patchFilter = useCallback((p: Partial<TaskFilter>) => setFilter((f) => ({ ...f, ...p })), [])
  const onTag = useCallback((tag: string) => patchFilter({ tag }), [patchFilter])
  const onDelete = useCallback(
    (task: Task) => {
      remove(task)
      setEditingId((id) => (id === task.id ? null : id))
    },
    [remove],
  )
  const save = (task: Task, fields: Partial<TaskWritable>) => {
    setEditingId(null)
    const patch = diffTask(task, fields)
    if (Object.keys(patch).length) update({ task, patch })
  }
  // j/k from anywhere (not typing) step into the list at its focused row.
  useShortcut(['j', 'k'], () => document.querySelector<HTMLElement>('[data-testid=task-list] [tabindex="0"]')?.focus())
  const error = list.isError ? errorMessage(list.error) : null

  // Reminders the server could only show in the app (no notification service).
  useReminderToasts(push)

  return (
    <section className="task-panel" data-testid="task-panel" aria-label="Tasks" aria-busy={list.isFetching}>
      <header className="panel-head">
        <h2>
          Tasks <span className="count" data-testid="task-count">{total}</span>
        </h2>
        <div className="search">
          <IconSearch />
          <label htmlFor="task-search" className="sr-only">
            Search tasks
          </label>
          <input id="task-search" type="search" placeholder="Search" value={search} onChange={(e) => setSearch(e.target.value)} data-testid="task-search" />
        </div>
      </header>
      <TaskViews filter={filter} onChange={patchFilter} />
      <TaskFilters filter={filter} tags={tags} onChange={patchFilter} lists={lists} onManageLists={() => setManaging(true)} />
      <QuickAdd today={today} timeZone={timeZone} onError={onError} lists={lists} />
      {error && (
        <div className="panel-error" role="alert" data-testid="task-error">
          {error}{' '}
          <button type="button" className="link-btn" onClick={() => void list.refetch()}>
            Try again
          </button>
        </div>
      )}
      <TaskList
        tasks={tasks}
        today={today}
        editingId={editingId}
        flashId={flashId}
        onToggle={toggle}
        onEdit={setEditingId}
        onSave={save}
        onDelete={onDelete}
        onTag={onTag}
        onOpenSource={onOpenSource}
        onMove={myOrder ? moveBy : undefined}
        onDropOn={myOrder ? dropOn : undefined}
        lists={filter.list ? undefined : listById}
      />
      <LoadMore shown={tasks.length} total={total} hasMore={list.hasNextPage} loading={list.isFetchingNextPage} onMore={() => void list.fetchNextPage()} />
      {settled && tasks.length === 0 && !error && <EmptyTasks filtered={filtered} onClear={() => resetFilter(defaultFilter)} />}
      {!settled && <div className="task-skeleton" aria-hidden="true" />}
      {stepsDialog}
      {managing && <ListManager lists={lists} onClose={() => setManaging(false)} onError={onError} push={push} onGone={onListGone} />}
      <ToastHost toasts={toasts} dismiss={dismiss} />
    </section>
  )
}
