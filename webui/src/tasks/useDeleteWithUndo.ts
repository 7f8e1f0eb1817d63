// Deleting a task: hidden at once, DELETE sent after UNDO_WINDOW_MS unless Undo was
// pressed; sent right away (keepalive) when the page goes away, so no delete is lost.

import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useCallback, useEffect, useRef, useState } from 'react'
import { ApiError, api, type Task } from '../api/client'
import type { Toast } from '../ui/toasts'
import { removeTask } from './useTasks'

export const UNDO_WINDOW_MS = 5000

type Push = (t: Omit<Toast, 'id' | 'timeout' | 'kind'> & { timeout?: number; kind?: Toast['kind'] }) => number

export function useDeleteWithUndo(push: Push) {
  const qc = useQueryClient()
  const [pending, setPending] = useState<Task[]>([])
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>())
  const unhide = useCallback((id: string) => setPending((list) => list.filter((t) => t.id !== id)), [])

  const { mutate: commit } = useMutation({
    mutationFn: ({ task, keepalive }: { task: Task; keepalive: boolean }) => api.deleteTask(task.id, keepalive),
    onSuccess: (_r, { task }) => removeTask(qc, task.id),
    onError: (e, { task }) => {
      if (e instanceof ApiError && e.status === 404) removeTask(qc, task.id)
      else push({ kind: 'error', message: `Could not delete “${task.title}”: ${e.message}` })
    },
    onSettled: (_r, _e, { task }) => unhide(task.id),
  })

  const fire = useCallback(
    (task: Task, keepalive = false) => {
      timers.current.delete(task.id)
      commit({ task, keepalive })
    },
    [commit],
  )

  const remove = useCallback(
    (task: Task) => {
      setPending((list) => (list.some((t) => t.id === task.id) ? list : [...list, task]))
      timers.current.set(
        task.id,
        setTimeout(() => fire(task), UNDO_WINDOW_MS),
      )
      push({
        message: `Deleted “${task.title}”`,
        actionLabel: 'Undo',
        timeout: UNDO_WINDOW_MS,
        onAction: () => {
          const t = timers.current.get(task.id)
          if (!t) return
          clearTimeout(t)
          timers.current.delete(task.id)
          unhide(task.id)
        },
      })
    },
    [fire, push, unhide],
  )

  const pendingRef = useRef(pending)
  pendingRef.current = pending
  useEffect(() => {
    const map = timers.current
    const flush = () => {
      for (const task of pendingRef.current) {
        const t = map.get(task.id)
        if (t) {
          clearTimeout(t)
          fire(task, true)
        }
      }
    }
    window.addEventListener('pagehide', flush)
    return () => {
      window.removeEventListener('pagehide', flush)
      flush()
    }
  }, [fire])

  return { pending, remove }
}
