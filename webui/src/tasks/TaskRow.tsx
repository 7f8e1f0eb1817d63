// One task in the list: check box, title (opens the editor), meta chips, row actions.
// `badges` is where later features (reminders, recurrence, lists) put their chips.

import { type CSSProperties, memo, useState, type ReactNode } from 'react'
import type { Task, TaskListInfo, TaskSource } from '../api/client'
import { IconEdit, IconLink, IconTrash } from '../ui/icons'
import { dueState, formatDue } from './dates'

export interface TaskRowProps {
  task: Task
  today: string
  /** false: nothing changes yet (the panel asks a question first). */
  onToggle: (t: Task) => boolean | void
  onEdit: (id: string) => void
  onDelete: (t: Task) => void
  onTag: (tag: string) => void
  onOpenSource?: (source: TaskSource) => void
  flash?: boolean
  badges?: ReactNode
  /** Roving focus: 0 for the list's one Tab stop, -1 for the other rows. */
  tabIndex?: number
  /** "My order" (app/lists): Alt+↑/↓ moves the task past its sibling. */
  onMove?: (t: Task, dir: -1 | 1) => void
  /** "My order": a task dropped on this row goes just before it. */
  onDropOn?: (draggedId: string, target: Task) => void
  place?: RowPlace
  /** Its list, shown as a chip when the view spans lists (not for the Inbox). */
  list?: TaskListInfo
}

/** Where a virtualized row sits (TaskList): its measuring ref, index and offset. */
export interface RowPlace {
  ref: (el: Element | null) => void
  'data-index': number
  'aria-posinset': number
  'aria-setsize': number
  style: CSSProperties
}

export const DRAG_TYPE = 'application/x-taskchat-task'

export const TaskRow = memo(function TaskRow({ task, today, onToggle, onEdit, onDelete, onTag, onOpenSource, flash, badges, tabIndex = -1, onMove, onDropOn, place, list }: TaskRowProps) {
  // The box follows a click at once: the optimistic cache write lands a tick later, and a
  // controlled checkbox would flick back to its old state in between. Once the task's
  // `completed` moves (optimistically or from the server) it is the truth again.
  const [clickedFrom, setClickedFrom] = useState<boolean | null>(null)
  if (clickedFrom !== null && clickedFrom !== task.completed) setClickedFrom(null)
  const checked = clickedFrom === null ? task.completed : !clickedFrom
  // The row takes focus; its controls are reached with →/← (or the mouse), not Tab.
  return (
    <li
      {...place}
      className={`task-item${task.completed ? ' done' : ''}${flash ? ' flash' : ''}${task.parent_id ? ' step' : ''}`}
      data-testid="task-item"
      data-task-id={task.id}
      tabIndex={tabIndex}
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
      aria-label={`${task.title}${task.completed ? ' (done)' : ''}`}
    >
      <input
        tabIndex={-1}
        id={`done-${task.id}`}
        type="checkbox"
        className="task-check"
        checked={checked}
        onChange={() => {
          if (onToggle(task) !== false) setClickedFrom(task.completed)
        }}
        aria-label={`Mark “${task.title}” as ${task.completed ? 'not done' : 'done'}`}
        data-testid="task-complete"
      />
      <div className="task-body">
        <button type="button" tabIndex={-1} className="task-title" onClick={() => onEdit(task.id)} data-testid="task-title" title="Edit">
          {task.title}
        </button>
        <TaskMeta task={task} today={today} onTag={onTag} onOpenSource={onOpenSource} badges={badges} list={list} />
      </div>
      <span className="row-actions">
        <button type="button" tabIndex={-1} className="icon-btn small" aria-label={`Edit “${task.title}”`} onClick={() => onEdit(task.id)} data-testid="task-edit">
          <IconEdit />
        </button>
        <button type="button" tabIndex={-1} className="icon-btn small" aria-label={`Delete “${task.title}”`} onClick={() => onDelete(task)} data-testid="task-delete">
          <IconTrash />
        </button>
      </span>
    </li>
  )
})

function TaskMeta({ task, today, onTag, onOpenSource, badges, list }: Pick<TaskRowProps, 'task' | 'today' | 'onTag' | 'onOpenSource' | 'badges' | 'list'>) {
  const hasBadges = Boolean(badges) && Boolean(task.recurrence || (task.remind_at && !task.completed))
  if (!(list || task.due || task.priority !== 'none' || task.tags.length > 0 || task.description || task.source || hasBadges || !!task.subtasks_total)) return null
  const ds = dueState(task, today)
  const source = task.source
  return (
    <div className="task-meta">
      {list && (
        <span className="chip list" title={`In ${list.name}`} data-testid="task-list-chip">
          <span className="list-dot" style={{ background: list.color }} aria-hidden="true" />
          {list.emoji ? `${list.emoji} ${list.name}` : list.name}
        </span>
      )}
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
      {badges}
      {task.tags.map((tag) => (
        <button type="button" tabIndex={-1} key={tag} className="chip tag" onClick={() => onTag(tag)} aria-label={`Filter by tag ${tag}`}>
          #{tag}
        </button>
      ))}
      {source && (
        <button
          type="button"
          tabIndex={-1}
          className="chip source"
          onClick={() => onOpenSource?.(source)}
          title={`Made in the chat “${source.thread_title || 'Untitled conversation'}”: open the message`}
          aria-label={`Open the chat message this task came from (${source.thread_title || 'Untitled conversation'})`}
          data-testid="task-source"
        >
          <IconLink />
        </button>
      )}
      {task.description && <span className="desc" title={task.description}>{task.description}</span>}
    </div>
  )
}
