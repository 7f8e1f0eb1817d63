// A small modal question with a few answers (completing a task with open steps, deleting a
// list): Esc or the backdrop cancels, the first answer has the focus.

import { type ReactNode, useRef } from 'react'
import { useDialog } from '../ui/useDialog'

export interface Choice {
  label: string
  /** 'primary' | 'danger-outline' | '' (plain) */
  kind?: 'primary' | 'danger-outline' | ''
  testId: string
  onChoose: () => void
}

interface Props {
  title: string
  children: ReactNode
  choices: Choice[]
  onCancel: () => void
  testId: string
}

export function ChoiceDialog({ title, children, choices, onCancel, testId }: Props) {
  const ref = useRef<HTMLDivElement>(null)
  const onKeyDown = useDialog(true, ref, onCancel)
  const titleId = `${testId}-title`
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onCancel()}>
      <div className="modal choice-dialog" role="alertdialog" aria-modal="true" aria-labelledby={titleId} ref={ref} onKeyDown={onKeyDown} data-testid={testId}>
        <header className="modal-head">
          <h2 id={titleId}>{title}</h2>
        </header>
        <div className="choice-body">{children}</div>
        <div className="modal-foot choice-foot">
          {choices.map((c) => (
            <button key={c.testId} type="button" className={`btn${c.kind ? ` btn-${c.kind}` : ''}`} onClick={c.onChoose} data-testid={c.testId}>
              {c.label}
            </button>
          ))}
          <button type="button" className="btn" onClick={onCancel} data-testid={`${testId}-cancel`}>
            Cancel
          </button>
        </div>
      </div>
    </div>
  )
}
