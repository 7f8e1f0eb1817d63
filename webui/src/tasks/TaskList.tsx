// The task rows with roving focus: the list is one Tab stop; j/k or the arrows move
// between rows, x/Space completes, e/Enter edits, Delete deletes, →/← walk a row's buttons.
// Long lists are virtualized (@tanstack/react-virtual): only the rows near the panel's
// viewport are in the page, plus the focused, edited, flashed and dragged rows, so
// roving focus, the editor, search's flash and drag and drop keep their row.

import { defaultRangeExtractor, type Range, useVirtualizer } from '@tanstack/react-virtual'
import { type KeyboardEvent, type ReactNode, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react'
import type { Task, TaskListInfo, TaskSource, TaskWritable } from '../api/client'
import { isTyping } from '../ui/shortcuts'
import { ReminderBadges } from './ReminderBadges'
import { TaskEditor } from './TaskEditor'
import { type RowPlace, TaskRow } from './TaskRow'

interface Props {
  tasks: Task[]
  today: string
  editingId: string | null
  flashId: string | null
  onToggle: (t: Task) => boolean | void
  onEdit: (id: string | null) => void
  onSave: (t: Task, fields: Partial<TaskWritable>) => void
  onDelete: (t: Task) => void
  onTag: (tag: string) => void
  onOpenSource?: (source: TaskSource) => void
  /** "My order" only: Alt+↑/↓ and drag and drop (app/lists). */
  onMove?: (t: Task, dir: -1 | 1) => void
  onDropOn?: (draggedId: string, target: Task) => void
  /** The lists by id, when the view spans lists: each row shows its list (but the Inbox). */
  lists?: ReadonlyMap<string, TaskListInfo>
}

/** Up to this many rows the list is rendered whole (find in page works, no measuring). */
export const VIRTUAL_ABOVE = 150
/** A typical row's height before it is measured (title + one meta line). */
const ROW_ESTIMATE = 58

const rowEl = (list: HTMLElement | null, id: string | undefined) =>
  id ? [...(list?.querySelectorAll<HTMLElement>('[data-task-id]') ?? [])].find((el) => el.dataset.taskId === id) : undefined

export function TaskList({ tasks, today, editingId, flashId, onToggle, onEdit, onSave, onDelete, onTag, onOpenSource, onMove, onDropOn, lists }: Props) {
  const listRef = useRef<HTMLUListElement>(null)
  const [focusId, setFocusId] = useState<string | null>(null)
  const within = useRef(false) // focus is somewhere in the list
  const lastIndex = useRef(0) // where the focused row was, for when it leaves
  const current = tasks.some((t) => t.id === focusId) ? focusId : (tasks[Math.min(lastIndex.current, tasks.length - 1)]?.id ?? null)

  const [dragId, setDragId] = useState<string | null>(null)
  const virtual = tasks.length > VIRTUAL_ABOVE
  // Rows always kept in the page, wherever the panel is scrolled.
  const pinned = useRef<number[]>([])
  pinned.current = [current, editingId, flashId, dragId].map((id) => (id ? tasks.findIndex((t) => t.id === id) : -1)).filter((i) => i >= 0)
  const rangeExtractor = useCallback((range: Range) => {
    const out = defaultRangeExtractor(range)
    const extra = pinned.current.filter((i) => i < range.count && !out.includes(i))
    return extra.length ? [...out, ...extra].sort((a, b) => a - b) : out
  }, [])
  const virtualizer = useVirtualizer({
    count: tasks.length,
    enabled: virtual,
    getScrollElement: () => listRef.current?.closest<HTMLElement>('.task-panel') ?? listRef.current?.parentElement ?? null,
    estimateSize: () => ROW_ESTIMATE,
    getItemKey: (i) => tasks[i]?.id ?? i,
    overscan: 12,
    rangeExtractor,
    // Where the list starts inside the scrolling panel (below the head, filters, quick add).
    scrollMargin: listRef.current?.offsetTop ?? 0,
  })

  // A row to focus once it is in the page (it may first need scrolling to).
  const pendingFocus = useRef<string | null>(null)
  const focusRow = useCallback(
    (id: string | undefined) => {
      if (!id) return
      setFocusId(id)
      const el = rowEl(listRef.current, id)
      if (el) {
        el.focus()
        if (virtual) el.scrollIntoView?.({ block: 'nearest' })
        return
      }
      pendingFocus.current = id
      const i = tasks.findIndex((t) => t.id === id)
      if (i >= 0) virtualizer.scrollToIndex(i, { align: 'auto' })
    },
    [tasks, virtual, virtualizer],
  )
  useLayoutEffect(() => {
    const id = pendingFocus.current
    const el = id ? rowEl(listRef.current, id) : undefined
    if (!el) return
    pendingFocus.current = null
    el.focus()
  })
  // Opened from search: bring the flashed row into view (useFocusTask then centres it).
  useEffect(() => {
    const i = flashId ? tasks.findIndex((t) => t.id === flashId) : -1
    if (virtual && i >= 0) virtualizer.scrollToIndex(i, { align: 'center' })
  }, [flashId, virtual, virtualizer, tasks])

  // The focused row left (completed out of view, deleted, editor closed): keep focus in the list.
  useEffect(() => {
    const list = listRef.current
    if (within.current && list && !list.contains(document.activeElement)) rowEl(list, current ?? undefined)?.focus()
  }, [tasks, editingId, current])

  const onKeyDown = (e: KeyboardEvent<HTMLUListElement>) => {
    const target = e.target as HTMLElement
    const row = target.closest<HTMLElement>('[data-task-id]')
    if (!row || isTyping(target) || e.ctrlKey || e.metaKey || e.altKey) return
    const at = tasks.findIndex((t) => t.id === row.dataset.taskId)
    const task = tasks[at]
    if (!task) return
    const onRow = target === row
    const controls = [...row.querySelectorAll<HTMLElement>('input, button')]
    const move = (to: number) => focusRow(tasks[Math.max(0, Math.min(tasks.length - 1, to))]?.id)
    const keys: Record<string, () => void> = {
      j: () => move(at + 1),
      ArrowDown: () => move(at + 1),
      k: () => move(at - 1),
      ArrowUp: () => move(at - 1),
      Home: () => move(0),
      End: () => move(tasks.length - 1),
      ArrowRight: () => controls[Math.min(controls.length - 1, controls.indexOf(target) + 1)]?.focus(),
      ArrowLeft: () => (controls.indexOf(target) <= 0 ? row.focus() : controls[controls.indexOf(target) - 1].focus()),
    }
    if (onRow) {
      keys.x = keys[' '] = () => onToggle(task)
      keys.e = keys.Enter = () => onEdit(task.id)
      keys.Delete = keys.Backspace = () => {
        setFocusId(tasks[at + 1]?.id ?? tasks[at - 1]?.id ?? null)
        onDelete(task)
      }
    }
    const action = keys[e.key]
    if (!action) return
    e.preventDefault()
    action()
  }

  // Rows are memoized: keep their props identical while scrolling (same place, same badges),
  // so a scroll renders only the rows coming into view.
  const places = useRef(new Map<string, RowPlace>())
  const badges = useRef(new WeakMap<Task, ReactNode>())
  const placeOf = (t: Task, index: number, start: number): RowPlace => {
    const old = places.current.get(t.id)
    if (old && old['data-index'] === index && old['aria-setsize'] === tasks.length && old.style.transform === `translateY(${start}px)`) return old
    const place: RowPlace = {
      ref: virtualizer.measureElement,
      'data-index': index,
      // Screen readers still hear "n of N" with most rows out of the page.
      'aria-posinset': index + 1,
      'aria-setsize': tasks.length,
      style: { transform: `translateY(${start}px)` },
    }
    places.current.set(t.id, place)
    return place
  }
  const badgesOf = (t: Task) => {
    let b = badges.current.get(t)
    if (b === undefined) {
      b = <ReminderBadges task={t} />
      badges.current.set(t, b)
    }
    return b
  }
  const listOf = (t: Task) => {
    // Steps are in their parent's list: the parent's chip says it.
    const l = t.list_id && !t.parent_id ? lists?.get(t.list_id) : undefined
    return l && !l.is_inbox ? l : undefined
  }
  const row = (t: Task, index?: number, start?: number) => {
    const place = index === undefined || start === undefined ? undefined : placeOf(t, index, start)
    return editingId === t.id ? (
      <TaskEditor key={t.id} task={t} onCancel={() => onEdit(null)} onSave={(f) => onSave(t, f)} place={place} />
    ) : (
      <TaskRow key={t.id} task={t} today={today} tabIndex={t.id === current ? 0 : -1} onToggle={onToggle} onEdit={onEdit} onDelete={onDelete} onTag={onTag} onOpenSource={onOpenSource} flash={flashId === t.id} badges={badgesOf(t)} onMove={onMove} onDropOn={onDropOn} place={place} list={listOf(t)} />
    )
  }
  const margin = virtualizer.options.scrollMargin

  return (
    <ul
      className={`task-list${virtual ? ' virtual' : ''}`}
      data-testid="task-list"
      data-virtual={virtual ? 'true' : undefined}
      data-rows={tasks.length}
      ref={listRef}
      style={virtual ? { height: virtualizer.getTotalSize() } : undefined}
      aria-label="Tasks (j/k to move, x to complete, e to edit)"
      onKeyDown={onKeyDown}
      onDragStart={(e) => setDragId((e.target as HTMLElement).closest<HTMLElement>('[data-task-id]')?.dataset.taskId ?? null)}
      onDragEnd={() => setDragId(null)}
      onDrop={() => setDragId(null)}
      onFocus={(e) => {
        within.current = true
        const id = (e.target as HTMLElement).closest<HTMLElement>('[data-task-id]')?.dataset.taskId
        if (!id) return
        setFocusId(id)
        lastIndex.current = Math.max(0, tasks.findIndex((t) => t.id === id))
      }}
      onBlur={(e) => {
        // A removed row fires no blur; moving elsewhere does.
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) within.current = false
      }}
    >
      {virtual ? virtualizer.getVirtualItems().map((v) => tasks[v.index] && row(tasks[v.index], v.index, v.start - margin)) : tasks.map((t) => row(t))}
    </ul>
  )
}
