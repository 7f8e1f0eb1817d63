// The row's repeat rule (in words) and reminder, shown through TaskRow's `badges` slot.

import type { Task } from '../api/client'
import { ruleInWords } from './recurrence'

export function ReminderBadges({ task }: { task: Task }) {
  const remind = task.remind_at && !task.completed ? new Date(task.remind_at) : null
  if (!task.recurrence && !remind) return null
  return (
    <>
      {task.recurrence && (
        <span className="chip repeat" title={task.recurrence} data-testid="task-repeat">
          ↻ {ruleInWords(task.recurrence)}
        </span>
      )}
      {remind && (
        <span className="chip remind" title={task.remind_at ?? ''} data-testid="task-remind">
          Reminder {remind.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}
        </span>
      )}
    </>
  )
}
