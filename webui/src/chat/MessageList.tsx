// The conversation's messages (or the start screen), kept scrolled to the end while
// new text arrives unless the person scrolled up; jumps to and flashes a target item.

import { Fragment, useEffect, useLayoutEffect, useRef, useState } from 'react'
import { Message, TouchedChips } from './Message'
import { EXAMPLE_PROMPTS } from './prompts'
import { type ChatState, itemText } from './protocol'
import { type Touched, mergeTouched } from './touched'

export default function MessageList({
  state,
  empty,
  onPrompt,
  touched,
  liveTouched,
  scrollTarget,
  onOpenTask,
  onEdit,
}: {
  state: ChatState
  empty: boolean
  onPrompt: (p: (typeof EXAMPLE_PROMPTS)[number]) => void
  touched: Map<string, Touched[]>
  liveTouched: Touched[]
  scrollTarget: { itemId: string; nonce: number } | null
  onOpenTask?: (taskId: string) => void
  /** Edit the last user message and ask again. */
  onEdit?: (itemId: string, text: string) => void
}) {
  const scrollRef = useRef<HTMLDivElement>(null)
  const stick = useRef(true)
  const [flashId, setFlashId] = useState<string | null>(null)
  const doneTarget = useRef<number | null>(null)

  // Scroll to a target item once it is rendered, and flash it.
  useLayoutEffect(() => {
    if (!scrollTarget || doneTarget.current === scrollTarget.nonce) return
    const root = scrollRef.current
    const el = root?.querySelector(`[data-item-id="${CSS.escape(scrollTarget.itemId)}"]`) as HTMLElement | null
    if (!el) return
    doneTarget.current = scrollTarget.nonce
    stick.current = false
    el.scrollIntoView?.({ block: 'center' })
    setFlashId(scrollTarget.itemId)
  }, [scrollTarget, state.items])
  useEffect(() => {
    if (!flashId) return
    const t = setTimeout(() => setFlashId(null), 2600)
    return () => clearTimeout(t)
  }, [flashId])

  const onScroll = () => {
    const el = scrollRef.current
    if (!el) return
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80
  }

  // Opening another thread jumps to its end (unless a target item is being opened).
  useEffect(() => {
    stick.current = !(scrollTarget && doneTarget.current !== scrollTarget.nonce)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [state.activeThreadId])

  useLayoutEffect(() => {
    const el = scrollRef.current
    if (el && stick.current) el.scrollTop = el.scrollHeight
  }, [state.items, state.progress, state.streaming, state.error])

  const last = state.items[state.items.length - 1]
  const waiting = state.streaming && (!last || last.type !== 'assistant_message' || itemText(last) === '')
  const lastAssistantStreaming = state.streaming && last?.type === 'assistant_message'
  let lastUserIdx = -1
  for (let i = state.items.length - 1; i >= 0; i--) {
    if (state.items[i].type === 'user_message') {
      lastUserIdx = i
      break
    }
  }

  return (
    <div className="messages" ref={scrollRef} onScroll={onScroll} data-testid="message-list" aria-live="polite" aria-busy={state.streaming}>
      {empty ? (
        <div className="start-screen" data-testid="start-screen">
          <h3>What should we get done?</h3>
          <p>Tell TaskChat about your tasks in plain words. It can add, update, find and complete them.</p>
          <div className="prompt-grid">
            {EXAMPLE_PROMPTS.map((p) => (
              <button key={p.label} type="button" className="prompt-chip" onClick={() => onPrompt(p)} data-testid="start-prompt">
                {p.label}
              </button>
            ))}
          </div>
        </div>
      ) : (
        <ol className="message-items">
          {state.loadingItems && <li className="loading-line">Loading conversation…</li>}
          {state.items.map((item, i) => (
            <Fragment key={item.id}>
              <Message
                item={item}
                streaming={lastAssistantStreaming && i === state.items.length - 1}
                flash={flashId === item.id}
                onEdit={i === lastUserIdx && !state.streaming && state.activeThreadId && item.type === 'user_message' && !item.pending ? onEdit : undefined}
              />
              <TouchedChips
                user={item.type === 'user_message'}
                touched={
                  i === state.items.length - 1 && item.type === 'assistant_message' && liveTouched.length
                    ? mergeTouched(touched.get(item.id), liveTouched)
                    : touched.get(item.id)
                }
                onOpenTask={onOpenTask}
              />
            </Fragment>
          ))}
          {waiting && (
            <li className="msg msg-assistant msg-waiting" data-testid="assistant-progress">
              <span className="typing" aria-hidden="true">
                <i />
                <i />
                <i />
              </span>
              <span className="progress-text" data-testid="tool-progress">
                {state.progress ?? 'Thinking…'}
              </span>
            </li>
          )}
        </ol>
      )}
    </div>
  )
}

