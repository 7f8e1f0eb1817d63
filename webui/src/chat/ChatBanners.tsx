// Above the composer: the server's notice and the turn's error, as states the person can act
// on — a quota's live countdown that retries by itself (or not, if cancelled), "Open key
// settings" and a one-click resend once a key is saved, offline that resends when the
// network is back.

import { useEffect, useRef, useState } from 'react'
import Markdown from 'react-markdown'
import { IconClose, IconRetry } from '../ui/icons'
import { mdComponents } from './Message'
import type { ChatError, ChatState } from './protocol'

/** Errors the person fixes in Settings (the key is missing or Gemini refused it). */
const KEY_ERRORS = new Set(['no_api_key', 'key_rejected'])
const QUOTA_TEXT = "Gemini's quota for your key is used up for now."

interface Props {
  state: ChatState
  onRetry: () => void
  /** After Stop: ask again for the stopped reply. */
  onRegenerate: () => void
  /** Opens Settings at the key (offered for key errors). */
  onOpenSettings?: () => void
  /** A key was saved since this error appeared: offer to send the message again. */
  keySaved?: boolean
  onDismissNotice: () => void
  onDismissError: () => void
}

/** Seconds left until `until` (ms), ticking once a second; 0 when it has passed. */
function useSecondsLeft(until: number | null): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (until === null) return
    setNow(Date.now())
    const t = setInterval(() => setNow(Date.now()), 250)
    return () => clearInterval(t)
  }, [until])
  return until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000))
}

/** A quota error's wait: counts down and retries once at 0, unless the person cancelled. */
function QuotaWait({ error, streaming, onRetry, onDismiss }: { error: ChatError; streaming: boolean; onRetry: () => void; onDismiss: () => void }) {
  const [until] = useState(() => Date.now() + (error.retryAfter ?? 0) * 1000)
  const [auto, setAuto] = useState(true)
  const left = useSecondsLeft(until)
  const fired = useRef(false)
  useEffect(() => {
    if (left > 0 || !auto || fired.current || streaming) return
    fired.current = true
    onRetry()
  }, [left, auto, streaming, onRetry])
  return (
    <div className="chat-error chat-quota" role="alert" data-testid="chat-error" data-code="quota">
      <span className="chat-error-text">
        {QUOTA_TEXT}{' '}
        <span data-testid="quota-countdown" aria-live="off">
          {left > 0 ? (auto ? `Trying again in ${left} s…` : `You can retry in ${left} s.`) : auto ? 'Trying again…' : 'You can retry now.'}
        </span>
      </span>
      <span className="chat-error-actions">
        {auto && left > 0 ? (
          <button type="button" className="btn btn-small" onClick={() => setAuto(false)} data-testid="quota-cancel">
            Don&apos;t retry
          </button>
        ) : (
          !auto && (
            <button type="button" className="btn btn-small" onClick={onRetry} disabled={left > 0 || streaming} data-testid="retry-button">
              <IconRetry /> {left > 0 ? `Retry in ${left} s` : 'Retry'}
            </button>
          )
        )}
        <button type="button" className="icon-btn" aria-label="Dismiss error" onClick={onDismiss}>
          <IconClose />
        </button>
      </span>
    </div>
  )
}

/** Offline: resend by itself when the network comes back. */
function useResendWhenOnline(error: ChatError | null, onRetry: () => void) {
  const offline = error?.code === 'offline' && error.allowRetry
  useEffect(() => {
    if (!offline) return
    const back = () => onRetry()
    window.addEventListener('online', back, { once: true })
    return () => window.removeEventListener('online', back)
  }, [offline, onRetry])
}

export function ChatBanners({ state, onRetry, onRegenerate, onOpenSettings, keySaved, onDismissNotice, onDismissError }: Props) {
  const error = state.error
  const keyError = !!error && KEY_ERRORS.has(error.code)
  useResendWhenOnline(error, onRetry)
  return (
    <>
      {state.stopped && !state.streaming && !error && (
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
      {error && error.code === 'quota' && error.retryAfter ? (
        // A retry clears the error, so each new quota error mounts a new countdown.
        <QuotaWait error={error} streaming={state.streaming} onRetry={onRetry} onDismiss={onDismissError} />
      ) : error && keyError && keySaved ? (
        // Its own key: reusing the error banner's nodes would animate "Open key settings" into
        // the primary "Send again" (a background transition through low-contrast colours).
        <div key="key-saved" className="chat-error chat-key-saved" role="status" data-testid="chat-error" data-code="key_saved">
          <span className="chat-error-text">Your key is saved. Send your message again?</span>
          <span className="chat-error-actions">
            <button type="button" className="btn btn-small btn-primary" onClick={onRetry} disabled={state.streaming} data-testid="resend-button">
              <IconRetry /> Send again
            </button>
            <button type="button" className="icon-btn" aria-label="Dismiss" onClick={onDismissError}>
              <IconClose />
            </button>
          </span>
        </div>
      ) : (
        error && (
          <div className="chat-error" role="alert" data-testid="chat-error" data-code={error.code}>
            <span className="chat-error-text">{error.message}</span>
            <span className="chat-error-actions">
              {keyError && onOpenSettings && (
                <button type="button" className="btn btn-small" onClick={onOpenSettings} data-testid="open-key-settings">
                  Open key settings
                </button>
              )}
              {/* A key error's Retry would fail again: the key is fixed first (then "Send again"). */}
              {error.allowRetry && !keyError && !state.streaming && (
                <button type="button" className="btn btn-small" onClick={onRetry} data-testid="retry-button">
                  <IconRetry /> Retry
                </button>
              )}
              <button type="button" className="icon-btn" aria-label="Dismiss error" onClick={onDismissError}>
                <IconClose />
              </button>
            </span>
          </div>
        )
      )}
    </>
  )
}
