// Above the composer: the server's notice and the turn's error (with Retry when allowed).

import Markdown from 'react-markdown'
import { IconClose, IconRetry } from '../ui/icons'
import { mdComponents } from './Message'
import type { ChatState } from './protocol'

/** Errors the person fixes in Settings (the key is missing or Gemini refused it). */
const KEY_ERRORS = new Set(['no_api_key', 'key_rejected'])

interface Props {
  state: ChatState
  onRetry: () => void
  /** After Stop: ask again for the stopped reply. */
  onRegenerate: () => void
  /** Opens Settings at the key (offered for key errors). */
  onOpenSettings?: () => void
  onDismissNotice: () => void
  onDismissError: () => void
}

export function ChatBanners({ state, onRetry, onRegenerate, onOpenSettings, onDismissNotice, onDismissError }: Props) {
  const keyError = !!state.error && KEY_ERRORS.has(state.error.code)
  return (
    <>
      {state.stopped && !state.streaming && !state.error && (
        <div className="chat-stopped" role="status" data-testid="stopped-mark">
          <span>You stopped this reply.</span>
          <button type="button" className="btn btn-small" onClick={onRegenerate} data-testid="regenerate-button">
            <IconRetry /> Regenerate
          </button>
        </div>
      )}
      {state.notice && (
        <div className={`notice notice-${state.notice.level}`} role="status" data-testid="chat-notice">
          <div className="notice-body">
            {state.notice.title && <strong>{state.notice.title} </strong>}
            <Markdown components={mdComponents}>{state.notice.message}</Markdown>
          </div>
          <button type="button" className="icon-btn" aria-label="Dismiss notice" onClick={onDismissNotice}>
            <IconClose />
          </button>
        </div>
      )}
      {state.error && (
        <div className="chat-error" role="alert" data-testid="chat-error">
          <span className="chat-error-text">{state.error.message}</span>
          <span className="chat-error-actions">
            {keyError && onOpenSettings && (
              <button type="button" className="btn btn-small" onClick={onOpenSettings} data-testid="open-key-settings">
                Open key settings
              </button>
            )}
            {(state.error.allowRetry || keyError) && !state.streaming && (
              <button type="button" className="btn btn-small" onClick={onRetry} data-testid="retry-button">
                <IconRetry /> Retry
              </button>
            )}
            <button type="button" className="icon-btn" aria-label="Dismiss error" onClick={onDismissError}>
              <IconClose />
            </button>
          </span>
        </div>
      )}
    </>
  )
}
