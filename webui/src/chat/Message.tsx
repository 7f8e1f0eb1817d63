// One item of a conversation (user bubble, Markdown reply, widget) and the task chips under it.

import { memo, type ReactNode, useEffect, useRef, useState } from 'react'
import Markdown from 'react-markdown'
import { itemText, type ThreadItem } from './protocol'
import type { Touched } from './touched'
import { WidgetCard } from './widgets'

// A link opens in the person's browser, which TaskChat hands only web and email addresses
// (app/desktop/links.py). Anything else (a relative path, file:, another app's scheme, or an
// address react-markdown's own filter emptied) would open nothing or TaskChat's own page, so
// it shows as text.
const OPENABLE = /^(https?:\/\/|mailto:)/i

export const mdComponents = {
  a: ({ href, children }: { href?: string; children?: ReactNode }) =>
    href && OPENABLE.test(href) ? (
      <a href={href} target="_blank" rel="noopener noreferrer">
        {children}
      </a>
    ) : (
      <span className="msg-link-refused" title="TaskChat opens only web and email links">
        {children}
      </span>
    ),
}

export const ACTION_LABEL: Record<string, string> = {
  created: 'added',
  updated: 'changed',
  completed: 'done',
  reopened: 'reopened',
  deleted: 'deleted',
}

export function TouchedChips({
  touched,
  onOpenTask,
  user,
}: {
  touched?: Touched[]
  onOpenTask?: (id: string) => void
  user?: boolean
}) {
  if (!touched?.length) return null
  return (
    <li className={`msg msg-touched${user ? ' msg-user' : ''}`} data-testid="touched-tasks" aria-label="Tasks this reply changed">
      {touched.map((t) => (
        <button
          key={t.id}
          type="button"
          className="touched-chip"
          disabled={t.action === 'deleted' || !onOpenTask}
          onClick={() => onOpenTask?.(t.id)}
          title={t.action === 'deleted' ? 'Deleted' : 'Show in the task list'}
          data-testid="touched-chip"
        >
          <span className="action">{ACTION_LABEL[t.action] ?? t.action}:</span> {t.title || 'task'}
        </button>
      ))}
    </li>
  )
}

export const Message = memo(function Message({
  item,
  streaming,
  flash,
  onEdit,
}: {
  item: ThreadItem
  streaming: boolean
  flash?: boolean
  /** Offered on the last user message: edit its text and ask again. */
  onEdit?: (itemId: string, text: string) => void
}) {
  if (item.type === 'user_message') {
    return <UserMessage item={item} flash={flash} onEdit={onEdit} />
  }
  if (item.type === 'assistant_message') {
    const text = itemText(item)
    return (
      <>
        <li
          className={`msg msg-assistant${streaming ? ' streaming' : ''}${flash ? ' msg-flash' : ''}`}
          data-testid="message-assistant"
          data-streaming={streaming ? 'true' : undefined}
          data-item-id={item.id}
        >
          <div className="md">
            <Markdown components={mdComponents}>{text}</Markdown>
          </div>
        </li>
        {!streaming && text && (
          <li className="msg msg-actions">
            <CopyButton text={text} />
          </li>
        )}
      </>
    )
  }
  if (item.type === 'widget') return <WidgetCard item={item} disabled={streaming} />
  if (item.type === 'client_tool_call') {
    return (
      <li className="msg msg-tool">
        <span>Tool: {String((item as { name?: unknown }).name ?? '')}</span>
      </li>
    )
  }
  return null
})


function UserMessage({ item, flash, onEdit }: { item: ThreadItem; flash?: boolean; onEdit?: (itemId: string, text: string) => void }) {
  const text = itemText(item)
  const [editing, setEditing] = useState<string | null>(null)
  const boxRef = useRef<HTMLTextAreaElement>(null)
  useEffect(() => {
    if (editing === null) return
    const el = boxRef.current
    el?.focus()
    el?.setSelectionRange(el.value.length, el.value.length)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [editing === null])
  const pending = item.type === 'user_message' && item.pending
  if (editing !== null && onEdit) {
    const save = () => {
      const t = editing.trim()
      if (!t) return
      setEditing(null)
      if (t !== text.trim()) onEdit(item.id, t)
    }
    return (
      <li className="msg msg-user msg-editing" data-testid="message-user" data-item-id={item.id}>
        <form
          className="edit-form"
          onSubmit={(e) => {
            e.preventDefault()
            save()
          }}
        >
          <label htmlFor={`edit-${item.id}`} className="sr-only">
            Edit your message
          </label>
          <textarea
            id={`edit-${item.id}`}
            ref={boxRef}
            value={editing}
            rows={Math.min(8, Math.max(2, editing.split('\n').length))}
            onChange={(e) => setEditing(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault()
                save()
              } else if (e.key === 'Escape') {
                e.preventDefault()
                e.stopPropagation()
                setEditing(null)
              }
            }}
            data-testid="edit-input"
          />
          <div className="edit-actions">
            <button type="button" className="btn btn-small" onClick={() => setEditing(null)} data-testid="edit-cancel">
              Cancel
            </button>
            <button type="submit" className="btn btn-small btn-primary" disabled={!editing.trim()} data-testid="edit-send">
              Send
            </button>
          </div>
        </form>
      </li>
    )
  }
  return (
    <>
      <li className={`msg msg-user${pending ? ' pending' : ''}${flash ? ' msg-flash' : ''}`} data-testid="message-user" data-item-id={item.id}>
        <div className="bubble">{text}</div>
      </li>
      {onEdit && (
        <li className="msg msg-actions msg-user-actions">
          <button type="button" className="copy-reply" onClick={() => setEditing(text)} aria-label="Edit your message and send it again" data-testid="edit-message">
            Edit
          </button>
        </li>
      )}
    </>
  )
}

/** Copies a reply's text (its Markdown source) to the clipboard. */
function CopyButton({ text }: { text: string }) {
  const [done, setDone] = useState<boolean | null>(null)
  useEffect(() => {
    if (done === null) return
    const t = setTimeout(() => setDone(null), 1500)
    return () => clearTimeout(t)
  }, [done])
  return (
    <button
      type="button"
      className="copy-reply"
      onClick={() => navigator.clipboard.writeText(text).then(() => setDone(true), () => setDone(false))}
      aria-label="Copy reply"
      data-testid="copy-reply"
    >
      {done === null ? 'Copy' : done ? 'Copied' : 'Copy failed'}
    </button>
  )
}
