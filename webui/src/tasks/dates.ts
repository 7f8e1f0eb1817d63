// Due dates as the panel shows them, in the browser's calendar (Temporal, as quick add).

import { Temporal } from 'temporal-polyfill'
import type { Task } from '../api/client'

export const DUE_SOON_DAYS = 7

const here = () => Temporal.Now.timeZoneId()

function localDateTime(d: Date): Temporal.PlainDateTime {
  return Temporal.Instant.fromEpochMilliseconds(d.getTime()).toZonedDateTimeISO(here()).toPlainDateTime()
}

/** Local calendar date as YYYY-MM-DD. */
export function isoDate(d: Date): string {
  return localDateTime(d).toPlainDate().toString()
}

export function addDays(date: string, days: number): string {
  return Temporal.PlainDate.from(date).add({ days }).toString()
}

/** An ISO datetime as a Date (with an offset or Z: that instant; without: local time). */
function instant(due: string): Date | null {
  const t = new Date(due)
  return Number.isNaN(t.getTime()) ? null : t
}

/** The calendar date (YYYY-MM-DD) of a due value (date or ISO datetime). */
export function dueDate(due: string | null | undefined): string | null {
  if (!due) return null
  if (/^\d{4}-\d{2}-\d{2}$/.test(due)) return due
  const t = instant(due)
  return t ? isoDate(t) : due.slice(0, 10)
}

export function hasTime(due: string | null | undefined): boolean {
  return !!due && /T\d{2}:\d{2}/.test(due)
}

export type DueState = 'overdue' | 'today' | 'soon' | 'later' | null

export function dueState(task: Pick<Task, 'due' | 'completed'>, today: string): DueState {
  const d = dueDate(task.due)
  if (!d) return null
  if (d < today) return task.completed ? 'later' : 'overdue'
  if (d === today) return 'today'
  if (d <= addDays(today, DUE_SOON_DAYS)) return 'soon'
  return 'later'
}

export function formatDue(due: string | null | undefined, today: string): string {
  const d = dueDate(due)
  if (!d || !due) return ''
  const day = Temporal.PlainDate.from(d)
  const days = Temporal.PlainDate.from(today).until(day).days
  let label: string
  if (days === 0) label = 'Today'
  else if (days === 1) label = 'Tomorrow'
  else if (days === -1) label = 'Yesterday'
  else {
    label = new Date(day.year, day.month - 1, day.day).toLocaleDateString(undefined, {
      weekday: days > 0 && days <= 6 ? 'short' : undefined,
      month: 'short',
      day: 'numeric',
      year: d.slice(0, 4) === today.slice(0, 4) ? undefined : 'numeric',
    })
  }
  const t = hasTime(due) ? instant(due) : null
  if (t) label += ` ${t.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}`
  return label
}

/** ISO datetime → value for <input type="datetime-local"> (local time). */
export function toLocalInput(due: string): string {
  const t = instant(due)
  return t ? localDateTime(t).toString({ smallestUnit: 'minute' }) : due.slice(0, 16)
}
