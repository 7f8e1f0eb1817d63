// The settings dialog: Gemini key, model, chat view, data and sync.

import { useEffect, useRef } from 'react'
import { errorMessage } from '../api/queryClient'
import { IconClose } from '../ui/icons'
import { useDialog } from '../ui/useDialog'
import { KeySection } from './KeySection'
import { ChatViewSection, DataSection, ModelSection, TimeZoneSection } from './sections'
import SyncSettings from './SyncSettings'
import { useSettings, useSettingsChange } from './useSettings'

interface Props {
  open: boolean
  /** Opened from a key error: focus the key field. */
  focusKey?: boolean
  chatMode: 'chatkit' | 'builtin' | null
  onClose: () => void
}

export default function Settings({ open, focusKey = false, chatMode, onClose }: Props) {
  const dialogRef = useRef<HTMLDivElement>(null)
  const onKeyDown = useDialog(open, dialogRef, onClose)
  const settings = useSettings()
  const change = useSettingsChange()
  const { reset } = change
  const { refetch } = settings
  useEffect(() => {
    if (!open) return
    reset() // a fresh dialog: no old "saved" or error line
    void refetch()
  }, [open, reset, refetch])
  useEffect(() => {
    if (!open || !focusKey) return
    // After useDialog's own first focus (a 0 ms timer).
    const t = setTimeout(() => {
      const input = document.getElementById('gemini-key-input')
      input?.scrollIntoView({ block: 'center' })
      input?.focus()
    }, 20)
    return () => clearTimeout(t)
  }, [open, focusKey])

  if (!open) return null

  const data = settings.data
  const busy = change.isPending
  const run = (what: () => Promise<unknown>, done: string) => change.mutate({ run: what, done })
  const error = change.isError ? errorMessage(change.error) : null
  const saved = change.isSuccess ? change.variables.done : null

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="settings-title" ref={dialogRef} onKeyDown={onKeyDown} data-testid="settings-dialog">
        <header className="modal-head">
          <h2 id="settings-title">Settings</h2>
          <button type="button" className="icon-btn" aria-label="Close settings" onClick={onClose} data-testid="settings-close">
            <IconClose />
          </button>
        </header>
        {settings.isError && (
          <p className="form-error" role="alert">
            {errorMessage(settings.error)}
          </p>
        )}
        <KeySection data={data} busy={busy} run={run} />
        <ModelSection data={data} busy={busy} run={run} />
        <TimeZoneSection data={data} busy={busy} run={run} />
        <ChatViewSection chatMode={chatMode} />
        <DataSection data={data} />
        <SyncSettings />
        <div className="modal-foot" aria-live="polite">
          {error && (
            <p className="form-error" role="alert" data-testid="settings-error">
              {error}
            </p>
          )}
          {saved && !error && <p className="form-ok">{saved}</p>}
          <button type="button" className="btn" onClick={onClose}>
            Done
          </button>
        </div>
      </div>
    </div>
  )
}
