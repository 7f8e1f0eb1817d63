// The task rows with roving focus: the list is one Tab stop; j/k or the arrows move
// between rows, x/Space completes, e/Enter edits, Delete deletes, →/← walk a row's buttons.

import { type KeyboardEvent, useCallback, useEffect, useRef, useState } from 'react'
import type { Task, TaskSource, TaskWritable } from '../api/client'
import { isTyping } from '../ui/shortcuts'
import { ReminderBadges } from './ReminderBadges'
import { TaskEditor } from './TaskEditor'
import { TaskRow } from './TaskRow'

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
}

const rowEl = (list: HTMLElement | null, id: string | undefined) =>
  id ? [...(list?.querySelectorAll<HTMLElement>('[data-task-id]') ?? [])].find((el) => el.dataset.taskId === id) : undefined

export function TaskList({ tasks, today, editingId, flashId, onToggle, onEdit, onSave, onDelete, onTag, onOpenSource, onMove, onDropOn }: Props) {
  const listRef = useRef<HTMLUListElement>(null)
  const [focusId, setFocusId] = useState<string | null>(null)
  const within = useRef(false) // focus is somewhere in the list
  const lastIndex = useRef(0) // where the focused row was, for when it leaves
  const current = tasks.some((t) => t.id === focusId) ? focusId : (tasks[Math.min(lastIndex.current, tasks.length - 1)]?.id ?? null)

  const focusRow = useCallback((id: string | undefined) => {
    if (!id) return
    setFocusId(id)
    rowEl(listRef.current, id)?.focus()
  }, [])

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

  return (
    <ul
      className="task-list"
      data-testid="task-list"
      ref={listRef}
      aria-label="Tasks (j/k to move, x to complete, e to edit)"
      onKeyDown={onKeyDown}
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
      {tasks.map((t) =>
        editingId === t.id ? (
          <TaskEditor key={t.id} task={t} onCancel={() => onEdit(null)} onSave={(f) => onSave(t, f)} />
        ) : (
          <TaskRow key={t.id} task={t} today={today} tabIndex={t.id === current ? 0 : -1} onToggle={onToggle} onEdit={onEdit} onDelete={onDelete} onTag={onTag} onOpenSource={onOpenSource} flash={flashId === t.id} badges={<ReminderBadges task={t} />} onMove={onMove} onDropOn={onDropOn} />
        ),
      )}
    </ul>
  )
}
