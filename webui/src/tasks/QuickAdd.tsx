// The add box: "buy milk tomorrow !high #groceries" shows what it understood as chips
// (each can be taken back) and creates the task without the model.

import { useMemo, useState } from 'react'
import type { TaskListInfo } from '../api/client'
import { IconPlus } from '../ui/icons'
import { formatDue } from './dates'
import { type QuickAddChip, resolveTimeZone } from './quickadd'
import { parseQuickAddWithRepeat, ruleInWords } from './recurrence'
import { useCreateTask } from './useTasks'

interface Props {
  today: string
  /** The person's time zone setting; the browser's when empty. */
  timeZone?: string | null
  onError: (message: string) => void
  /** The person's lists, for "#name" (app/lists). */
  lists?: TaskListInfo[]
}

const NO_LISTS: TaskListInfo[] = []

export function QuickAdd({ today, timeZone, onError, lists = NO_LISTS }: Props) {
  const [text, setText] = useState('')
  const [removed, setRemoved] = useState<string[]>([])
  const zone = useMemo(() => resolveTimeZone(timeZone), [timeZone])
  // The locale decides what 12/15 means.
  const options = () => ({ now: new Date(), timeZone: zone, ignore: removed, locale: navigator.language, lists })
  const quick = useMemo(
    () => parseQuickAddWithRepeat(text, { now: new Date(), timeZone: zone, ignore: removed, locale: navigator.language, lists }),
    [text, zone, removed, lists],
  )
  const create = useCreateTask({
    onError,
    onCreated: () => {
      setText('')
      setRemoved([])
    },
  })

  const add = () => {
    // Parsed again: "today" and "at 5pm" are read at the moment of adding.
    const fields = parseQuickAddWithRepeat(text, options()).fields
    if (fields && !create.isPending) create.mutate(fields)
  }

  return (
    <>
      <form
        className="task-add"
        onSubmit={(e) => {
          e.preventDefault()
          add()
        }}
      >
        <label htmlFor="task-add-input" className="sr-only">
          New task
        </label>
        <input
          id="task-add-input"
          value={text}
          onChange={(e) => {
            setText(e.target.value)
            if (!e.target.value.trim()) setRemoved([])
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape') e.currentTarget.blur() // back to single-key shortcuts
          }}
          placeholder="Add a task…  (tomorrow !high #tag)"
          data-testid="task-add-input"
          autoComplete="off"
          maxLength={500}
        />
        <button type="submit" className="icon-btn filled" aria-label="Add task" disabled={!quick.fields || create.isPending} data-testid="task-add-button">
          <IconPlus />
        </button>
      </form>
      {quick.chips.length > 0 && (
        <div className="quick-chips" data-testid="quick-chips" aria-label="Understood from the text">
          {quick.chips.map((c) => (
            <span key={c.key} className="quick-chip" data-testid="quick-chip" data-kind={c.kind}>
              {chipLabel(c, today)}
              <button
                type="button"
                aria-label={`Remove ${chipLabel(c, today)} (keep “${c.text}” in the title)`}
                title="Keep these words in the title instead"
                onClick={() => setRemoved((r) => [...r, c.key])}
              >
                ×
              </button>
            </span>
          ))}
        </div>
      )}
    </>
  )
}

function chipLabel(c: QuickAddChip, today: string): string {
  if (c.kind === 'due') return `Due: ${formatDue(c.value, today)}`
  if (c.kind === 'priority') return `!${c.value}`
  if (c.kind === 'repeat') return `↻ ${ruleInWords(c.value)}`
  if (c.kind === 'list') return `List: ${c.text.replace(/^#/, '')}`
  return `#${c.value}`
}
