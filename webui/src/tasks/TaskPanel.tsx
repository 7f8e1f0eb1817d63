import { memo, useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react'
import {
  ApiError,
  api,
  type Priority,
  type Task,
  type TaskListInfo,
  type TaskSource,
  type TaskWritable,
} from '../api/client'
import type { TaskTarget } from '../search/targets'
import { IconEdit, IconPlus, IconSearch, IconTrash } from '../ui/icons'
import { ToastHost, useToasts } from '../ui/toasts'
import {
  type SortKey,
  type StatusFilter,
  type TaskFilter,
  allTags,
  buildTaskQuery,
  defaultFilter,
  diffTask,
  dueDate,
  dueState,
  formatDue,
  hasTime,
  initialTaskState,
  isoDate,
  loadView,
  parseTags,
  saveView,
  siblingOf,
  taskReducer,
  visibleTasks,
} from './state'
import { type QuickAddChip, parseQuickAdd, resolveTimeZone } from './quickadd'
import '../search/search.css'

export const UNDO_WINDOW_MS = 5000
const DRAG_TYPE = 'application/x-taskchat-task'


interface Props {
  /** Incremented by the app whenever tasks may have changed (tasks_changed). */
  refreshKey: number
  onFirstLoad: () => void
  /** The person's time zone setting (quick-add dates); the browser's when empty. */
  timeZone?: string | null
  /** Scroll to and flash this task (from search). */
  focusTask?: TaskTarget | null
  /** Open the chat thread a task came from. */
  onOpenSource?: (source: TaskSource) => void
}

const STATUS_TABS: { key: StatusFilter; label: string }[] = [
  { key: 'open', label: 'Open' },
  { key: 'today', label: 'Today' },
  { key: 'upcoming', label: 'Upcoming' },
  { key: 'due_soon', label: 'Due soon' },
  { key: 'done', label: 'Done' },
  { key: 'all', label: 'All' },
]

const PRIORITIES: Priority[] = ['high', 'medium', 'low', 'none']

function msg(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e)
}

function today(): string {
  return isoDate(new Date())
}

export default function TaskPanel({ refreshKey, onFirstLoad, timeZone, focusTask, onOpenSource }: Props) {
  const [state, dispatch] = useReducer(taskReducer, initialTaskState)
  const [filter, setFilter] = useState<TaskFilter>(() => loadView())
  useEffect(() => saveView(filter), [filter])
  const [search, setSearch] = useState('')
  const [editingId, setEditingId] = useState<string | null>(null)
  const { toasts, push, dismiss } = useToasts()
  const seq = useRef(0)
  const firstDone = useRef(false)
  const firstLoadCb = useRef(onFirstLoad)
  firstLoadCb.current = onFirstLoad
  const inflight = useRef<AbortController | null>(null)

  // Debounce the search box into the filter.
  useEffect(() => {
    const t = setTimeout(() => setFilter((f) => (f.q === search ? f : { ...f, q: search })), 250)
    return () => clearTimeout(t)
  }, [search])

  const load = useCallback(async () => {
    const n = ++seq.current
    inflight.current?.abort()
    const controller = new AbortController()
    inflight.current = controller
    const query = buildTaskQuery(filter, today())
    dispatch({ type: 'load/start', seq: n, key: JSON.stringify(query) })
    try {
      const page = await api.listTasks(query, controller.signal)
      dispatch({ type: 'load/success', seq: n, items: page.items ?? [], total: page.total ?? page.items?.length ?? 0 })
    } catch (e) {
      if (controller.signal.aborted) return
      dispatch({ type: 'load/failure', seq: n, error: msg(e) })
    } finally {
      if (!firstDone.current && !controller.signal.aborted) {
        firstDone.current = true
        firstLoadCb.current()
      }
    }
  }, [filter])

  const loadRef = useRef(load)
  loadRef.current = load

  useEffect(() => {
    void load()
  }, [load, refreshKey])

  // Refresh when the window regains focus (other devices, CLI changes).
  useEffect(() => {
    const onFocus = () => {
      if (document.visibilityState === 'visible') void loadRef.current()
    }
    window.addEventListener('focus', onFocus)
    document.addEventListener('visibilitychange', onFocus)
    return () => {
      window.removeEventListener('focus', onFocus)
      document.removeEventListener('visibilitychange', onFocus)
    }
  }, [])

  // A soft reload shortly after changes, so items leave views they no longer match.
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const softReload = useCallback((delay = 1200) => {
    if (reloadTimer.current) clearTimeout(reloadTimer.current)
    reloadTimer.current = setTimeout(() => void loadRef.current(), delay)
  }, [])
  useEffect(() => () => {
    if (reloadTimer.current) clearTimeout(reloadTimer.current)
  }, [])

  // ---------------------------------------------------------- delete with undo
  const pendingTimers = useRef(new Map<string, ReturnType<typeof setTimeout>>())

  const commitDelete = useCallback(
    async (task: Task, keepalive = false) => {
      pendingTimers.current.delete(task.id)
      try {
        await api.deleteTask(task.id, keepalive)
        dispatch({ type: 'delete/committed', id: task.id })
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          dispatch({ type: 'delete/committed', id: task.id })
          return
        }
        dispatch({ type: 'delete/failed', id: task.id })
        push({ kind: 'error', message: `Could not delete “${task.title}”: ${msg(e)}` })
      }
    },
    [push],
  )

  const deleteTask = useCallback(
    (task: Task) => {
      dispatch({ type: 'delete/pending', task })
      if (editingId === task.id) setEditingId(null)
      pendingTimers.current.set(
        task.id,
        setTimeout(() => void commitDelete(task), UNDO_WINDOW_MS),
      )
      push({
        message: `Deleted “${task.title}”`,
        actionLabel: 'Undo',
        timeout: UNDO_WINDOW_MS,
        onAction: () => {
          const t = pendingTimers.current.get(task.id)
          if (t) {
            clearTimeout(t)
            pendingTimers.current.delete(task.id)
            dispatch({ type: 'delete/undo', id: task.id })
          }
        },
      })
    },
    [commitDelete, push, editingId],
  )

  // Never lose a delete: flush pending ones when the page goes away.
  const pendingRef = useRef(state.pendingDeletes)
  pendingRef.current = state.pendingDeletes
  useEffect(() => {
    const timers = pendingTimers.current
    const flush = () => {
      for (const task of pendingRef.current) {
        const t = timers.get(task.id)
        if (t) {
          clearTimeout(t)
          void commitDelete(task, true)
        }
      }
    }
    window.addEventListener('pagehide', flush)
    return () => {
      window.removeEventListener('pagehide', flush)
      flush()
    }
  }, [commitDelete])

  // ---------------------------------------------------------- mutations
  const toggle = useCallback(
    async (task: Task) => {
      const completed = !task.completed
      dispatch({
        type: 'task/optimistic',
        id: task.id,
        patch: { completed, completed_at: completed ? new Date().toISOString() : null },
      })
      try {
        const saved = await api.completeTask(task.id, completed)
        if (saved && typeof saved === 'object' && 'id' in saved) dispatch({ type: 'task/confirmed', task: saved })
        else dispatch({ type: 'task/revert', id: task.id })
        softReload()
      } catch (e) {
        dispatch({ type: 'task/revert', id: task.id })
        push({ kind: 'error', message: msg(e) })
      }
    },
    [push, softReload],
  )

  const save = useCallback(
    async (task: Task, fields: Partial<TaskWritable>) => {
      const patch = diffTask(task, fields)
      setEditingId(null)
      if (Object.keys(patch).length === 0) return
      dispatch({ type: 'task/optimistic', id: task.id, patch: patch as Partial<Task> })
      try {
        const saved = await api.updateTask(task.id, patch)
        if (saved && typeof saved === 'object' && 'id' in saved) dispatch({ type: 'task/confirmed', task: saved })
        else dispatch({ type: 'task/revert', id: task.id })
        softReload(300)
      } catch (e) {
        dispatch({ type: 'task/revert', id: task.id })
        push({ kind: 'error', message: msg(e) })
      }
    },
    [push, softReload],
  )

  const [newTitle, setNewTitle] = useState('')
  const [adding, setAdding] = useState(false)
  const [removedChips, setRemovedChips] = useState<string[]>([])
  const zone = useMemo(() => resolveTimeZone(timeZone), [timeZone])
  // Lists for "#name" in quick add; the locale decides what 12/15 means.
  const [lists, setLists] = useState<TaskListInfo[]>([])
  useEffect(() => {
    api.listLists().then((page) => setLists(page.items), () => setLists([]))
  }, [])
  const quickOptions = useCallback(
    () => ({ now: new Date(), timeZone: zone, ignore: removedChips, locale: navigator.language, lists }),
    [zone, removedChips, lists],
  )
  const quick = useMemo(() => parseQuickAdd(newTitle, quickOptions()), [newTitle, quickOptions])
  const addTask = async () => {
    const fields = parseQuickAdd(newTitle, quickOptions()).fields
    if (!fields || adding) return
    setAdding(true)
    try {
      const created = await api.createTask(fields)
      setNewTitle('')
      setRemovedChips([])
      if (created && typeof created === 'object' && 'id' in created) dispatch({ type: 'task/added', task: created })
      softReload(300)
    } catch (e) {
      push({ kind: 'error', message: msg(e) })
    } finally {
      setAdding(false)
    }
  }

  const now = today()
  const tasks = useMemo(() => visibleTasks(state, filter.sort), [state, filter.sort])
  // Alt+↑/↓ in "my order": one move request puts the task before/after its sibling.
  const tasksRef = useRef(tasks)
  tasksRef.current = tasks
  const moveBy = useCallback(
    async (task: Task, dir: -1 | 1) => {
      if (filter.sort !== 'position') {
        push({ message: 'Choose “Sort: my order” to move tasks with Alt+↑/↓.' })
        return
      }
      const other = siblingOf(tasksRef.current, task.id, dir)
      if (!other) return
      try {
        await api.moveTask(task.id, dir < 0 ? { before_id: other.id } : { after_id: other.id })
        await loadRef.current()
        requestAnimationFrame(() => {
          // Keep the keyboard on the moved task (ids are uuids: no quotes to escape).
          const row = document.querySelector<HTMLElement>(`[data-task-id="${task.id.replace(/["\\]/g, '')}"] .task-title`)
          row?.focus()
        })
      } catch (e) {
        push({ kind: 'error', message: msg(e) })
      }
    },
    [filter.sort, push],
  )
  // Drag and drop in "my order": the dragged task goes just before the row it is dropped
  // on, in that row's list and under that row's parent (one /move request).
  const dropOn = useCallback(
    async (draggedId: string, target: Task) => {
      if (draggedId === target.id) return
      try {
        await api.moveTask(draggedId, {
          list_id: target.list_id,
          parent_id: target.parent_id ?? null,
          before_id: target.id,
        })
        await loadRef.current()
      } catch (e) {
        push({ kind: 'error', message: msg(e) })
      }
    },
    [push],
  )
  const tags = useMemo(() => allTags(state.items, filter.tag || undefined), [state.items, filter.tag])
  const filtered = filter.status !== 'open' || !!filter.priority || !!filter.tag || !!filter.q || !!filter.list

  // Opened from search: show the task (widening the filter once if needed) and flash it.
  const [flashId, setFlashId] = useState<string | null>(null)
  const focusedNonce = useRef<number | null>(null)
  useEffect(() => {
    if (!focusTask || focusedNonce.current === focusTask.nonce || state.loading) return
    if (!tasks.some((t) => t.id === focusTask.id)) {
      const widened = filter.status === 'all' && !filter.q && !filter.tag && !filter.priority
      if (widened) focusedNonce.current = focusTask.nonce // not there at all: give up
      else {
        setSearch('')
        setFilter({ ...defaultFilter, status: 'all' })
      }
      return
    }
    focusedNonce.current = focusTask.nonce
    setFlashId(focusTask.id)
    requestAnimationFrame(() => {
      const el = document.querySelector(`[data-task-id="${CSS.escape(focusTask.id)}"]`)
      el?.scrollIntoView?.({ block: 'center', behavior: 'smooth' })
    })
  }, [focusTask, tasks, state.loading, filter])
  useEffect(() => {
    if (!flashId) return
    const t = setTimeout(() => setFlashId(null), 2600)
    return () => clearTimeout(t)
  }, [flashId])

  return (
    <section className="task-panel" data-testid="task-panel" aria-label="Tasks" aria-busy={state.loading}>
      <header className="panel-head">
        <h2>
          Tasks <span className="count" data-testid="task-count">{tasks.length}</span>
        </h2>
        <div className="search">
          <IconSearch />
          <label htmlFor="task-search" className="sr-only">
            Search tasks
          </label>
          <input
            id="task-search"
            type="search"
            placeholder="Search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            data-testid="task-search"
          />
        </div>
      </header>

      <div className="segmented" role="tablist" aria-label="Show tasks">
        {STATUS_TABS.map((t) => (
          <button
            key={t.key}
            type="button"
            role="tab"
            aria-selected={filter.status === t.key}
            className={filter.status === t.key ? 'on' : ''}
            onClick={() => setFilter((f) => ({ ...f, status: t.key }))}
            data-testid={`filter-${t.key}`}
          >
            {t.label}
          </button>
        ))}
      </div>

      <div className="filter-row">
        <label className="sr-only" htmlFor="filter-priority">
          Priority
        </label>
        <select
          id="filter-priority"
          value={filter.priority}
          onChange={(e) => setFilter((f) => ({ ...f, priority: e.target.value as Priority | '' }))}
          data-testid="filter-priority"
        >
          <option value="">Any priority</option>
          {PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {p === 'none' ? 'No priority' : `${p[0].toUpperCase()}${p.slice(1)}`}
            </option>
          ))}
        </select>
        <label className="sr-only" htmlFor="filter-list">
          List
        </label>
        <select
          id="filter-list"
          value={filter.list ?? ''}
          onChange={(e) => setFilter((f) => ({ ...f, list: e.target.value }))}
          data-testid="filter-list"
        >
          <option value="">All lists</option>
          {lists
            .filter((l) => !l.archived)
            .map((l) => (
              <option key={l.id} value={l.id}>
                {l.emoji ? `${l.emoji} ${l.name}` : l.name}
              </option>
            ))}
        </select>
        <label className="sr-only" htmlFor="filter-tag">
          Tag
        </label>
        <select
          id="filter-tag"
          value={filter.tag}
          onChange={(e) => setFilter((f) => ({ ...f, tag: e.target.value }))}
          data-testid="filter-tag"
        >
          <option value="">Any tag</option>
          {tags.map((t) => (
            <option key={t} value={t}>
              #{t}
            </option>
          ))}
        </select>
        <label className="sr-only" htmlFor="task-sort">
          Sort by
        </label>
        <select
          id="task-sort"
          value={filter.sort}
          onChange={(e) => setFilter((f) => ({ ...f, sort: e.target.value as SortKey }))}
          data-testid="task-sort"
        >
          <option value="smart">Sort: smart</option>
          <option value="due">Sort: due date</option>
          <option value="priority">Sort: priority</option>
          <option value="created">Sort: newest</option>
          <option value="title">Sort: title</option>
          <option value="position" title="Alt+↑/↓ moves a task">Sort: my order</option>
        </select>
      </div>

      <form
        className="task-add"
        onSubmit={(e) => {
          e.preventDefault()
          void addTask()
        }}
      >
        <label htmlFor="task-add-input" className="sr-only">
          New task
        </label>
        <input
          id="task-add-input"
          value={newTitle}
          onChange={(e) => {
            setNewTitle(e.target.value)
            if (!e.target.value.trim()) setRemovedChips([])
          }}
          placeholder="Add a task…  (tomorrow !high #tag)"
          data-testid="task-add-input"
          autoComplete="off"
          maxLength={500}
        />
        <button type="submit" className="icon-btn filled" aria-label="Add task" disabled={!quick.fields || adding} data-testid="task-add-button">
          <IconPlus />
        </button>
      </form>
      {quick.chips.length > 0 && (
        <div className="quick-chips" data-testid="quick-chips" aria-label="Understood from the text">
          {quick.chips.map((c) => (
            <span key={c.key} className="quick-chip" data-testid="quick-chip" data-kind={c.kind}>
              {chipLabel(c, now)}
              <button
                type="button"
                aria-label={`Remove ${chipLabel(c, now)} (keep “${c.text}” in the title)`}
                title="Keep these words in the title instead"
                onClick={() => setRemovedChips((r) => [...r, c.key])}
              >
                ×
              </button>
            </span>
          ))}
        </div>
      )}

      {state.error && (
        <div className="panel-error" role="alert" data-testid="task-error">
          {state.error}{' '}
          <button type="button" className="link-btn" onClick={() => void load()}>
            Try again
          </button>
        </div>
      )}

      <ul className="task-list" data-testid="task-list">
        {tasks.map((t) =>
          editingId === t.id ? (
            <TaskEditor key={t.id} task={t} onCancel={() => setEditingId(null)} onSave={(f) => void save(t, f)} />
          ) : (
            <TaskRow
              key={t.id}
              task={t}
              today={now}
              onToggle={toggle}
              onEdit={setEditingId}
              onDelete={deleteTask}
              onTag={(tag) => setFilter((f) => ({ ...f, tag }))}
              onOpenSource={onOpenSource}
              onMove={moveBy}
              onDropOn={filter.sort === 'position' ? dropOn : undefined}
              flash={flashId === t.id}
            />
          ),
        )}
      </ul>
      {state.loaded && tasks.length === 0 && !state.error && (
        <div className="empty-state" data-testid="task-empty">
          {filtered ? (
            <>
              <p>No tasks match these filters.</p>
              <button
                type="button"
                className="link-btn"
                onClick={() => {
                  setSearch('')
                  setFilter(defaultFilter)
                }}
              >
                Clear filters
              </button>
            </>
          ) : (
            <p>Nothing open. Add a task above or ask in the chat.</p>
          )}
        </div>
      )}
      {!state.loaded && <div className="task-skeleton" aria-hidden="true" />}
      <ToastHost toasts={toasts} dismiss={dismiss} />
    </section>
  )
}

const TaskRow = memo(function TaskRow({
  task,
  today,
  onToggle,
  onEdit,
  onDelete,
  onTag,
  onOpenSource,
  onMove,
  onDropOn,
  flash,
}: {
  task: Task
  today: string
  onToggle: (t: Task) => void
  onEdit: (id: string) => void
  onDelete: (t: Task) => void
  onTag: (tag: string) => void
  onOpenSource?: (source: TaskSource) => void
  onMove?: (t: Task, dir: -1 | 1) => void
  onDropOn?: (draggedId: string, target: Task) => void
  flash?: boolean
}) {
  const ds = dueState(task, today)
  const checkId = `done-${task.id}`
  return (
    <li
      className={`task-item${task.completed ? ' done' : ''}${flash ? ' flash' : ''}${task.parent_id ? ' step' : ''}`}
      data-testid="task-item"
      data-task-id={task.id}
      draggable={!!onDropOn}
      onDragStart={(e) => {
        e.dataTransfer.setData(DRAG_TYPE, task.id)
        e.dataTransfer.effectAllowed = 'move'
      }}
      onDragOver={(e) => {
        if (onDropOn && e.dataTransfer.types.includes(DRAG_TYPE)) e.preventDefault()
      }}
      onDrop={(e) => {
        const id = e.dataTransfer.getData(DRAG_TYPE)
        if (!onDropOn || !id) return
        e.preventDefault()
        onDropOn(id, task)
      }}
      onKeyDown={(e) => {
        if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown') && onMove) {
          e.preventDefault()
          onMove(task, e.key === 'ArrowUp' ? -1 : 1)
        }
      }}
    >
      <input
        id={checkId}
        type="checkbox"
        className="task-check"
        checked={task.completed}
        onChange={() => onToggle(task)}
        aria-label={`Mark “${task.title}” as ${task.completed ? 'not done' : 'done'}`}
        data-testid="task-complete"
      />
      <div className="task-body">
        <button type="button" className="task-title" onClick={() => onEdit(task.id)} data-testid="task-title" title="Edit">
          {task.title}
        </button>
        {(task.due || task.priority !== 'none' || task.tags.length > 0 || task.description || task.source || !!task.subtasks_total) && (
          <div className="task-meta">
            {!!task.subtasks_total && (
              <span className="chip steps" title="Steps done" data-testid="task-steps">
                {task.subtasks_done ?? 0}/{task.subtasks_total}
              </span>
            )}
            {task.due && (
              <span className={`chip due due-${ds ?? 'none'}`} title={task.due}>
                {ds === 'overdue' ? 'Overdue · ' : ''}
                {formatDue(task.due, today)}
              </span>
            )}
            {task.priority !== 'none' && <span className={`chip prio prio-${task.priority}`}>{task.priority}</span>}
            {task.tags.map((tag) => (
              <button type="button" key={tag} className="chip tag" onClick={() => onTag(tag)} aria-label={`Filter by tag ${tag}`}>
                #{tag}
              </button>
            ))}
            {task.source && (
              <button
                type="button"
                className="chip source"
                onClick={() => task.source && onOpenSource?.(task.source)}
                title={`Open the chat “${task.source.thread_title ?? 'Untitled conversation'}”`}
                data-testid="task-source"
              >
                from: {task.source.thread_title || 'Untitled conversation'}
              </button>
            )}
            {task.description && <span className="desc" title={task.description}>{task.description}</span>}
          </div>
        )}
      </div>
      <span className="row-actions">
        <button type="button" className="icon-btn small" aria-label={`Edit “${task.title}”`} onClick={() => onEdit(task.id)} data-testid="task-edit">
          <IconEdit />
        </button>
        <button type="button" className="icon-btn small" aria-label={`Delete “${task.title}”`} onClick={() => onDelete(task)} data-testid="task-delete">
          <IconTrash />
        </button>
      </span>
    </li>
  )
})

function toLocalInput(due: string): string {
  // ISO datetime → value for <input type="datetime-local"> (local time).
  const d = new Date(due)
  if (Number.isNaN(d.getTime())) return due.slice(0, 16)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${isoDate(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

function TaskEditor({ task, onSave, onCancel }: { task: Task; onSave: (f: Partial<TaskWritable>) => void; onCancel: () => void }) {
  const [title, setTitle] = useState(task.title)
  const [description, setDescription] = useState(task.description ?? '')
  const [withTime, setWithTime] = useState(hasTime(task.due))
  const [due, setDue] = useState(task.due ? (hasTime(task.due) ? toLocalInput(task.due) : dueDate(task.due) ?? '') : '')
  const [priority, setPriority] = useState<Priority>(task.priority)
  const [tags, setTags] = useState(task.tags.join(', '))
  const id = task.id

  const submit = () => {
    if (!title.trim()) return
    let dueOut: string | null = due || null
    if (dueOut && withTime) {
      const d = new Date(dueOut)
      dueOut = Number.isNaN(d.getTime()) ? dueOut : d.toISOString()
      if (task.due && hasTime(task.due) && toLocalInput(task.due) === due) dueOut = task.due
    }
    onSave({ title: title.trim(), description, due: dueOut, priority, tags: parseTags(tags) })
  }

  return (
    <li className="task-item editing" data-testid="task-editor">
      <form
        className="task-edit-form"
        onSubmit={(e) => {
          e.preventDefault()
          submit()
        }}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation()
            onCancel()
          }
        }}
      >
        <label htmlFor={`title-${id}`}>Title</label>
        <input id={`title-${id}`} value={title} onChange={(e) => setTitle(e.target.value)} autoFocus required data-testid="edit-title" />
        <div className="edit-grid">
          <div>
            <label htmlFor={`due-${id}`}>Due</label>
            <input
              id={`due-${id}`}
              type={withTime ? 'datetime-local' : 'date'}
              value={due}
              onChange={(e) => setDue(e.target.value)}
              data-testid="edit-due"
            />
            <label className="inline-check">
              <input
                type="checkbox"
                checked={withTime}
                onChange={(e) => {
                  const on = e.target.checked
                  setWithTime(on)
                  setDue((d) => (d ? (on ? `${d.slice(0, 10)}T09:00` : d.slice(0, 10)) : d))
                }}
              />
              time
            </label>
          </div>
          <div>
            <label htmlFor={`prio-${id}`}>Priority</label>
            <select id={`prio-${id}`} value={priority} onChange={(e) => setPriority(e.target.value as Priority)} data-testid="edit-priority">
              <option value="none">None</option>
              <option value="low">Low</option>
              <option value="medium">Medium</option>
              <option value="high">High</option>
            </select>
          </div>
        </div>
        <label htmlFor={`tags-${id}`}>Tags</label>
        <input id={`tags-${id}`} value={tags} onChange={(e) => setTags(e.target.value)} placeholder="work, home" data-testid="edit-tags" />
        <label htmlFor={`desc-${id}`}>Notes</label>
        <textarea id={`desc-${id}`} value={description} onChange={(e) => setDescription(e.target.value)} rows={3} data-testid="edit-description" />
        <div className="edit-actions">
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={!title.trim()} data-testid="edit-save">
            Save
          </button>
        </div>
      </form>
    </li>
  )
}

function chipLabel(c: QuickAddChip, today: string): string {
  if (c.kind === 'due') return `Due: ${formatDue(c.value, today)}`
  if (c.kind === 'priority') return `!${c.value}`
  if (c.kind === 'list') return `List: ${c.text.replace(/^#/, '')}`
  return `#${c.value}`
}
