// The message box: Enter sends, Shift+Enter breaks the line, Esc stops a reply; grows
// with its text up to 200 px.

import { type RefObject, useLayoutEffect } from 'react'
import { IconSend, IconStop } from '../ui/icons'

interface Props {
  draft: string
  onDraft: (text: string) => void
  streaming: boolean
  onSend: (text: string) => void
  onStop: () => void
  inputRef: RefObject<HTMLTextAreaElement | null>
}

export function Composer({ draft, onDraft, streaming, onSend, onStop, inputRef }: Props) {
  useLayoutEffect(() => {
    const el = inputRef.current
    if (!el) return
    el.style.height = 'auto'
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`
  }, [draft, inputRef])

  const sendDraft = () => {
    if (!draft.trim()) return
    onDraft('')
    onSend(draft)
  }

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault()
        if (streaming) return onStop()
        sendDraft()
        inputRef.current?.focus()
      }}
    >
      <label htmlFor="chat-input" className="sr-only">
        Message
      </label>
      <textarea
        id="chat-input"
        ref={inputRef}
        className="composer-input"
        data-testid="chat-input"
        rows={1}
        value={draft}
        placeholder="Message TaskChat…"
        onChange={(e) => onDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault()
            if (!streaming) sendDraft()
          } else if (e.key === 'Escape' && streaming) {
            e.preventDefault()
            onStop()
          } else if (e.key === 'Escape') {
            e.currentTarget.blur() // leave the box: single-key shortcuts work again
          }
        }}
        autoFocus
      />
      {streaming ? (
        <button type="button" className="send-btn stop" aria-label="Stop" title="Stop (Esc)" onClick={onStop} data-testid="stop-button">
          <IconStop />
        </button>
      ) : (
        <button type="submit" className="send-btn" aria-label="Send" title="Send (Enter)" disabled={!draft.trim()} data-testid="send-button">
          <IconSend />
        </button>
      )}
    </form>
  )
}
