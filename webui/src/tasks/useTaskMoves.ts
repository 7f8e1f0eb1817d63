// Moving tasks in "my order": Alt+↑/↓ and drag and drop, one /move request each.
import { useCallback, useRef, useState } from 'react'
import type { Task } from '../api/client'
import { siblingOf } from './state'
import { useMoveTask } from './useTasks'

export function useTaskMoves(onError: (message: string) => void) {
  // Moved tasks as the server answered, shown until the cached lists have a newer copy.
  const [moved, setMoved] = useState<ReadonlyMap<string, Task>>(new Map())
  // The rows as shown (the panel sets it on each render): Alt+↑/↓ moves past a sibling.
  const shown = useRef<Task[]>([])
  const move = useMoveTask({ onError })
  const remember = useCallback((saved: Task) => setMoved((m) => new Map(m).set(saved.id, saved)), [])

  const moveBy = useCallback(
    async (task: Task, dir: -1 | 1) => {
      const other = siblingOf(shown.current, task.id, dir)
      if (!other) return
      const saved = await move(task.id, dir < 0 ? { before_id: other.id } : { after_id: other.id })
      if (saved) {
        remember(saved)
        requestAnimationFrame(() => {
          // Keep the keyboard on the moved task.
          const row = [...document.querySelectorAll<HTMLElement>('[data-task-id]')].find((el) => el.dataset.taskId === task.id)
          row?.focus()
        })
      }
    },
    [move, remember],
  )
  // The dragged task goes just before the row it is dropped on, in that row's list and
  // under that row's parent.
  const dropOn = useCallback(
    (draggedId: string, target: Task) => {
      if (draggedId === target.id) return
      void move(draggedId, { list_id: target.list_id, parent_id: target.parent_id ?? null, before_id: target.id }).then(
        (saved) => saved && remember(saved),
      )
    },
    [move, remember],
  )
  return { moved, shown, moveBy, dropOn }
}
