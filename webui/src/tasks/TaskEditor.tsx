// Inline editor for one task (title, due with optional time, priority, tags, notes).

import { useState } from 'react'
import type { Priority, Task, TaskWritable } from '../api/client'
import { dueDate, hasTime, toLocalInput } from './dates'
import { parseRepeat, ruleInWords } from './recurrence'
import { parseTags } from './state'
import type { RowPlace } from './TaskRow'

interface Props {
  task: Task
  onSave: (f: Partial<TaskWritable>) => void
  onCancel: () => void
  /** In a virtualized list: where the row sits. */
  place?: RowPlace
}

export function TaskEditor({ task, onSave, onCancel, place }: Props) {
  const [title, setTitle] = useState(task.title)
  const [description, setDescription] = useState(task.description ?? '')
  const [withTime, setWithTime] = useState(hasTime(task.due))
  const [due, setDue] = useState(task.due ? (hasTime(task.due) ? toLocalInput(task.due) : (dueDate(task.due) ?? '')) : '')
  const [priority, setPriority] = useState<Priority>(task.priority)
  const [tags, setTags] = useState(task.tags.join(', '))
  const [repeat, setRepeat] = useState(ruleInWords(task.recurrence))
  const [remind, setRemind] = useState(task.remind_at ? toLocalInput(task.remind_at) : '')
  // The rule in words: a quick-add phrase ("every 2 weeks") or, untouched, the stored rule.
  const repeatRule = repeat.trim() === ruleInWords(task.recurrence) ? (task.recurrence ?? null) : (parseRepeat(repeat)?.rule ?? null)
  const repeatInvalid = repeat.trim() !== '' && repeatRule === null
  const id = task.id

  const submit = () => {
    if (!title.trim()) return
    let dueOut: string | null = due || null
    if (dueOut && withTime) {
      const d = new Date(dueOut)
      dueOut = Number.isNaN(d.getTime()) ? dueOut : d.toISOString()
      // Unchanged time: keep the stored value (and its offset) as it was.
      if (task.due && hasTime(task.due) && toLocalInput(task.due) === due) dueOut = task.due
    }
    if (repeatInvalid) return
    const changes: Partial<TaskWritable> = { title: title.trim(), description, due: dueOut, priority, tags: parseTags(tags) }
    if (repeatRule !== (task.recurrence ?? null)) changes.recurrence = repeatRule
    if (remind !== (task.remind_at ? toLocalInput(task.remind_at) : '')) changes.remind_at = remind ? new Date(remind).toISOString() : null
    onSave(changes)
  }

  return (
    <li {...place} className="task-item editing" data-testid="task-editor">
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
            <input id={`due-${id}`} type={withTime ? 'datetime-local' : 'date'} value={due} onChange={(e) => setDue(e.target.value)} data-testid="edit-due" />
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
        <div className="edit-grid">
          <div>
            <label htmlFor={`repeat-${id}`}>Repeats</label>
            <input
              id={`repeat-${id}`}
              value={repeat}
              onChange={(e) => setRepeat(e.target.value)}
              placeholder="every monday, every 2 weeks…"
              aria-invalid={repeatInvalid}
              title={repeatInvalid ? 'Try “every monday”, “every weekday”, “monthly on the 1st”' : (repeatRule ?? '')}
              data-testid="edit-repeat"
            />
          </div>
          <div>
            <label htmlFor={`remind-${id}`}>Remind me</label>
            <input id={`remind-${id}`} type="datetime-local" value={remind} onChange={(e) => setRemind(e.target.value)} data-testid="edit-remind" />
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
