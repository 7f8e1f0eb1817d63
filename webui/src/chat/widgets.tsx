// Widget items in the built-in chat view. TaskChat's server sends one kind: the card that
// asks the person to confirm a deletion (app/chat/confirm.py), with `confirm` and `cancel`
// actions that go back as threads.custom_action. The ChatKit web component renders the
// same item itself; this is the built-in view's equivalent.

import { createContext, useContext, useState } from 'react'
import type { ThreadItem } from './protocol'

export interface WidgetAction {
  type: string
  payload?: unknown
}

interface CardAction {
  label: string
  action: WidgetAction
}

interface WidgetNode {
  type?: string
  value?: unknown
  children?: WidgetNode[]
  confirm?: CardAction
  cancel?: CardAction
}

/** Sends a widget's action for its item; false when it could not be sent now (BuiltinChat provides it). */
export const WidgetActionContext = createContext<((itemId: string, action: WidgetAction) => boolean) | null>(null)

/** The visible lines of a widget tree: titles first, then texts, in order. */
export function widgetLines(node: WidgetNode | undefined): { title: boolean; text: string }[] {
  const out: { title: boolean; text: string }[] = []
  const walk = (n: WidgetNode | undefined) => {
    if (!n || typeof n !== 'object') return
    if ((n.type === 'Title' || n.type === 'Text' || n.type === 'Markdown' || n.type === 'Caption') && typeof n.value === 'string') {
      out.push({ title: n.type === 'Title', text: n.value })
    }
    for (const c of Array.isArray(n.children) ? n.children : []) walk(c)
  }
  walk(node)
  return out
}

function isCardAction(a: unknown): a is CardAction {
  const c = a as CardAction | undefined
  return !!c && typeof c.label === 'string' && !!c.action && typeof c.action.type === 'string'
}

export function WidgetCard({ item, disabled }: { item: ThreadItem; disabled?: boolean }) {
  const send = useContext(WidgetActionContext)
  const [sent, setSent] = useState(false)
  const widget = (item as { widget?: WidgetNode }).widget
  const lines = widgetLines(widget)
  const actions = [widget?.cancel, widget?.confirm].filter(isCardAction)
  const press = (a: CardAction) => {
    if (!send || sent) return
    // Sent once; not sent at all while another reply is still streaming.
    if (send(item.id, { type: a.action.type, payload: a.action.payload })) setSent(true)
  }
  return (
    <li className="msg msg-assistant msg-widget" data-testid="message-widget" data-item-id={item.id}>
      <div className="widget-card" role="group" aria-label={lines.find((l) => l.title)?.text ?? 'Card'}>
        {lines.map((l, i) =>
          l.title ? (
            <strong key={i} className="widget-title">
              {l.text}
            </strong>
          ) : (
            <div key={i} className="widget-text">
              {l.text}
            </div>
          ),
        )}
        {actions.length > 0 && (
          <div className="widget-actions">
            {actions.map((a) => (
              <button
                key={a.action.type}
                type="button"
                className={`btn btn-small${a === widget?.confirm ? ' btn-danger' : ''}`}
                disabled={disabled || sent || !send}
                onClick={() => press(a)}
                data-testid={a === widget?.confirm ? 'widget-confirm' : 'widget-cancel'}
              >
                {a.label}
              </button>
            ))}
          </div>
        )}
      </div>
    </li>
  )
}
