// Completing and reopening with Undo; completing a task with open steps first asks
// whether to complete them too or leave them open (the server's subtasks=ask|complete|leave).

import { useQueryClient } from '@tanstack/react-query'
import { type ReactNode, useCallback, useState } from 'react'
import { type Task, api } from '../api/client'
import { keys } from '../api/queryClient'
import type { Toast } from '../ui/toasts'
import { ChoiceDialog } from './ChoiceDialog'
import { UNDO_WINDOW_MS } from './useDeleteWithUndo'
import { type StepsPolicy, useToggleTask } from './useTasks'

type Push = (t: Omit<Toast, 'id' | 'timeout' | 'kind'> & { timeout?: number; kind?: Toast['kind'] }) => number

const openSteps = (t: Task) => Math.max(0, (t.subtasks_total ?? 0) - (t.subtasks_done ?? 0))

/** The open steps of a parent, at most one page (named in the question, reopened by Undo). */
async function loadOpenSteps(parentId: string): Promise<Task[]> {
  const page = await api.listTasks({ parent_id: parentId, completed: false, sort: 'position', limit: 100 })
  return Array.isArray(page?.items) ? page.items : []
}

export function useCompleteTask(push: Push, onError: (message: string) => void): { toggle: (t: Task) => boolean; dialog: ReactNode } {
  const qc = useQueryClient()
  const [asking, setAsking] = useState<{ task: Task; steps: Task[] } | null>(null)
  const ask = useCallback((task: Task) => {
    setAsking({ task, steps: [] })
    void loadOpenSteps(task.id).then(
      (steps) => setAsking((a) => (a && a.task.id === task.id ? { task, steps } : a)),
      () => undefined,
    )
  }, [])
  const { mutate: setDone } = useToggleTask({ onError, onOpenSteps: ask })

  const finish = useCallback(
    (task: Task, steps?: StepsPolicy, reopenToo: Task[] = []) =>
      setDone(
        { task, steps },
        {
          onSuccess: (saved) => {
            if (!saved.completed) return
            const extra = reopenToo.length ? ` and ${reopenToo.length} step${reopenToo.length === 1 ? '' : 's'}` : ''
            push({
              message: `Completed “${saved.title}”${extra}`,
              actionLabel: 'Undo',
              timeout: UNDO_WINDOW_MS,
              onAction: () => {
                setDone({ task: saved })
                // The steps completed along with it open again too.
                void Promise.all(reopenToo.map((s) => api.completeTask(s.id, false))).then(
                  () => qc.invalidateQueries({ queryKey: keys.tasks }),
                  (e: unknown) => onError(e instanceof Error ? e.message : String(e)),
                )
              },
            })
          },
        },
      ),
    [setDone, push, qc, onError],
  )

  const toggle = useCallback(
    (task: Task) => {
      if (!task.completed && openSteps(task) > 0) {
        ask(task)
        return false
      }
      finish(task)
      return true
    },
    [ask, finish],
  )

  let dialog: ReactNode = null
  if (asking) {
    const { task, steps } = asking
    const n = steps.length || openSteps(task)
    const close = () => setAsking(null)
    dialog = (
      <ChoiceDialog
        title={`Complete “${task.title}”?`}
        testId="steps-dialog"
        onCancel={close}
        choices={[
          {
            label: n === 1 ? 'Complete the step too' : n === 2 ? 'Complete both steps too' : `Complete all ${n} steps too`,
            kind: 'primary',
            testId: 'steps-complete',
            onChoose: () => {
              close()
              finish(task, 'complete', steps)
            },
          },
          {
            label: 'Leave them open',
            testId: 'steps-leave',
            onChoose: () => {
              close()
              finish(task, 'leave')
            },
          },
        ]}
      >
        <p>
          It still has {n} open step{n === 1 ? '' : 's'}
          {steps.length ? ':' : '.'}
        </p>
        {steps.length > 0 && (
          <ul className="choice-list" data-testid="steps-dialog-steps">
            {steps.slice(0, 8).map((s) => (
              <li key={s.id}>{s.title}</li>
            ))}
            {steps.length > 8 && <li>and {steps.length - 8} more</li>}
          </ul>
        )}
      </ChoiceDialog>
    )
  }
  return { toggle, dialog }
}
