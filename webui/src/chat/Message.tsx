// One item of a conversation (user bubble, Markdown reply, widget) and the task chips under it.

import { memo, type ReactNode, useEffect, useState } from 'react'
import Markdown from 'react-markdown'
import { itemText, type ThreadItem } from './protocol'
import type { Touched } from './touched'
import { WidgetCard } from './widgets'

export const mdComponents = {
  a: ({ href, children }: { href?: string; children?: ReactNode }) => (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
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
}: {
  item: ThreadItem
  streaming: boolean
  flash?: boolean
}) {
  if (item.type === 'user_message') {
    return (
      <li className={`msg msg-user${item.pending ? ' pending' : ''}${flash ? ' msg-flash' : ''}`} data-testid="message-user" data-item-id={item.id}>
        <div className="bubble">{itemText(item)}</div>
      </li>
    )
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
