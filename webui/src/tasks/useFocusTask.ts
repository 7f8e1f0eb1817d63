// Opened from search: show the task (widening the filter once if needed) and flash it.

import { useEffect, useRef, useState } from 'react'
import type { Task } from '../api/client'
import type { TaskTarget } from '../search/targets'
import { type TaskFilter, defaultFilter } from './state'

export function useFocusTask(
  target: TaskTarget | null | undefined,
  tasks: Task[],
  loading: boolean,
  filter: TaskFilter,
  resetTo: (f: TaskFilter) => void,
): string | null {
  const [flashId, setFlashId] = useState<string | null>(null)
  const done = useRef<number | null>(null)
  useEffect(() => {
    if (!target || done.current === target.nonce || loading) return
    if (!tasks.some((t) => t.id === target.id)) {
      const widened = filter.status === 'all' && !filter.q && !filter.tag && !filter.priority
      if (widened) done.current = target.nonce // not there at all: give up
      else resetTo({ ...defaultFilter, status: 'all' })
      return
    }
    done.current = target.nonce
    setFlashId(target.id)
    requestAnimationFrame(() => {
      const el = document.querySelector(`[data-task-id="${CSS.escape(target.id)}"]`)
      el?.scrollIntoView?.({ block: 'center', behavior: 'smooth' })
      // Keyboard flow: found with / and Enter, the task is ready for x, e or Delete.
      if (el instanceof HTMLElement) el.focus({ preventScroll: true })
    })
  }, [target, tasks, loading, filter, resetTo])
  useEffect(() => {
    if (!flashId) return
    const t = setTimeout(() => setFlashId(null), 2600)
    return () => clearTimeout(t)
  }, [flashId])
  return flashId
}
