// The conversation list: open, rename in place, delete after a confirm.

import { type ReactNode, useState } from 'react'
import { IconEdit, IconTrash } from '../ui/icons'
import { type ThreadMeta, threadTitle } from './protocol'

export function ThreadList({
  threads,
  loaded,
  activeId,
  onOpen,
  onRename,
  onDelete,
  footer,
}: {
  threads: ThreadMeta[]
  loaded: boolean
  activeId: string | null
  onOpen: (id: string) => void
  onRename: (t: ThreadMeta, title: string) => void
  onDelete: (t: ThreadMeta) => void
  /** After the last row, inside the scrolling list (Load more). */
  footer?: ReactNode
}) {
  const [editing, setEditing] = useState<string | null>(null)
  const [confirming, setConfirming] = useState<string | null>(null)
  const [title, setTitle] = useState('')

  if (loaded && threads.length === 0) {
    return (
      <div className="thread-list empty" data-testid="thread-list">
        <p className="muted">No conversations yet.</p>
      </div>
    )
  }

  return (
    <ul className="thread-list" data-testid="thread-list">
      {threads.map((t) => (
        <li key={t.id} className={`thread-row${t.id === activeId ? ' active' : ''}`} data-testid="thread-item">
          {editing === t.id ? (
            <form
              className="thread-rename"
              onSubmit={(e) => {
                e.preventDefault()
                const v = title.trim()
                if (v && v !== t.title) onRename(t, v)
                setEditing(null)
              }}
            >
              <label className="sr-only" htmlFor={`rename-${t.id}`}>
                Conversation title
              </label>
              <input
                id={`rename-${t.id}`}
                value={title}
                autoFocus
                onChange={(e) => setTitle(e.target.value)}
                onBlur={() => setEditing(null)}
                onKeyDown={(e) => {
                  if (e.key === 'Escape') {
                    e.stopPropagation()
                    setEditing(null)
                  }
                }}
                data-testid="thread-rename-input"
              />
            </form>
          ) : confirming === t.id ? (
            <div className="thread-confirm">
              <span>Delete?</span>
              <button
                type="button"
                className="btn btn-small btn-danger"
                onClick={() => {
                  setConfirming(null)
                  onDelete(t)
                }}
                data-testid="thread-delete-confirm"
              >
                Delete
              </button>
              <button type="button" className="btn btn-small" onClick={() => setConfirming(null)}>
                Cancel
              </button>
            </div>
          ) : (
            <>
              <button
                type="button"
                className="thread-open"
                onClick={() => onOpen(t.id)}
                aria-current={t.id === activeId ? 'true' : undefined}
                title={threadTitle(t)}
              >
                {threadTitle(t)}
              </button>
              <span className="row-actions">
                <button
                  type="button"
                  className="icon-btn small"
                  aria-label={`Rename ${threadTitle(t)}`}
                  onClick={() => {
                    setTitle(t.title ?? '')
                    setEditing(t.id)
                  }}
                >
                  <IconEdit />
                </button>
                <button
                  type="button"
                  className="icon-btn small"
                  aria-label={`Delete ${threadTitle(t)}`}
                  onClick={() => setConfirming(t.id)}
                  data-testid="thread-delete"
                >
                  <IconTrash />
                </button>
              </span>
            </>
          )}
        </li>
      ))}
      {footer && <li className="thread-more">{footer}</li>}
    </ul>
  )
}
