import { useEffect, useRef, useState } from 'react'
import type { KeyboardEvent as ReactKeyboardEvent } from 'react'
import { ApiError, api, type Settings as SettingsData, type SyncStatus } from '../api/client'
import { type ChatPreference, getChatPreference, setChatPreference } from '../chat/loader'
import { IconClose } from '../ui/icons'
import DataTransfer from '../search/DataTransfer'
import SyncSettings from './SyncSettings'

interface Props {
  open: boolean
  firstRun: boolean
  chatMode: 'chatkit' | 'builtin' | null
  onClose: () => void
  /** Called with fresh settings after any change. */
  onChanged: (s: SettingsData) => void
}

function msg(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e)
}

const SOURCE_LABEL: Record<string, string> = {
  env: 'from the GEMINI_API_KEY environment variable',
  keyring: 'in the system keyring',
  file: 'in a file in the data folder (unencrypted)',
}

export function syncSummary(sync: SyncStatus | null | undefined): string {
  if (!sync) return 'Sync: not configured'
  const s = sync as Record<string, unknown>
  if (s.configured === false || s.enabled === false) return 'Sync: not configured'
  const parts: string[] = ['Sync: configured']
  const last = (s.last_sync_at ?? s.last_synced_at ?? s.last_run_at) as string | undefined
  if (typeof last === 'string' && last) {
    const d = new Date(last)
    parts.push(`last run ${Number.isNaN(d.getTime()) ? last : d.toLocaleString()}`)
  }
  if (typeof s.status === 'string') parts.push(s.status)
  if (typeof s.error === 'string' && s.error) parts.push(`error: ${s.error}`)
  return parts.join(' · ')
}

export default function Settings({ open, firstRun, chatMode, onClose, onChanged }: Props) {
  const [data, setData] = useState<SettingsData | null>(null)
  const [loadError, setLoadError] = useState<string | null>(null)
  const [key, setKey] = useState('')
  const [plaintext, setPlaintext] = useState(false)
  const [model, setModel] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [saved, setSaved] = useState<string | null>(null)
  const [chatPref, setChatPref] = useState<ChatPreference>(getChatPreference())
  const dialogRef = useRef<HTMLDivElement>(null)
  const lastFocus = useRef<Element | null>(null)

  const refresh = async () => {
    try {
      const s = await api.getSettings()
      setData(s)
      setModel(typeof s.model === 'string' ? s.model : '')
      setLoadError(null)
      onChanged(s)
    } catch (e) {
      setLoadError(msg(e))
    }
  }

  useEffect(() => {
    if (!open) return
    lastFocus.current = document.activeElement
    setError(null)
    setSaved(null)
    setKey('')
    void refresh()
    const t = setTimeout(() => {
      const first = dialogRef.current?.querySelector<HTMLElement>('input:not([disabled]), button:not([disabled])')
      first?.focus()
    }, 0)
    return () => {
      clearTimeout(t)
      if (lastFocus.current instanceof HTMLElement) lastFocus.current.focus()
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open])

  // Esc closes even when focus fell out of the dialog (e.g. a button got disabled).
  const closeRef = useRef(onClose)
  closeRef.current = onClose
  useEffect(() => {
    if (!open) return
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !e.defaultPrevented) closeRef.current()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [open])

  if (!open) return null

  const keyInfo = data?.gemini_key
  const keyring = data?.keyring
  const keyringUnavailable = keyring?.available === false
  const fromEnv = keyInfo?.source === 'env'

  const run = async (what: () => Promise<unknown>, done: string) => {
    setBusy(true)
    setError(null)
    setSaved(null)
    try {
      await what()
      setSaved(done)
      await refresh()
    } catch (e) {
      setError(msg(e))
    } finally {
      setBusy(false)
    }
  }

  const onKeyDown = (e: ReactKeyboardEvent) => {
    if (e.key === 'Tab' && dialogRef.current) {
      // Keep focus inside the dialog.
      const els = [...dialogRef.current.querySelectorAll<HTMLElement>('button, input, select, textarea, a[href]')].filter(
        (el) => !el.hasAttribute('disabled'),
      )
      if (els.length === 0) return
      const first = els[0]
      const last = els[els.length - 1]
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault()
        last.focus()
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault()
        first.focus()
      }
    }
  }

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="settings-title"
        ref={dialogRef}
        onKeyDown={onKeyDown}
        data-testid="settings-dialog"
      >
        <header className="modal-head">
          <h2 id="settings-title">Settings</h2>
          <button type="button" className="icon-btn" aria-label="Close settings" onClick={onClose} data-testid="settings-close">
            <IconClose />
          </button>
        </header>

        {loadError && (
          <p className="form-error" role="alert">
            {loadError}
          </p>
        )}

        <section className="settings-section" aria-labelledby="key-heading">
          <h3 id="key-heading">Gemini API key</h3>
          {firstRun && !keyInfo?.set && (
            <p className="first-run" data-testid="first-run-hint">
              TaskChat needs a Gemini API key to chat — get one free at{' '}
              <a href="https://aistudio.google.com/apikey" target="_blank" rel="noopener noreferrer">
                Google AI Studio (aistudio.google.com/apikey)
              </a>{' '}
              and paste it below.
            </p>
          )}
          <p className="key-status" data-testid="gemini-key-status">
            {data == null
              ? 'Checking…'
              : keyInfo?.set
                ? `Set${keyInfo.last4 ? `, ends with …${keyInfo.last4}` : ''}${keyInfo.source && SOURCE_LABEL[keyInfo.source] ? ` (${SOURCE_LABEL[keyInfo.source]})` : ''}`
                : 'Not set'}
          </p>
          {fromEnv && <p className="muted">The environment variable overrides any stored key.</p>}
          {keyringUnavailable && (
            <p className="warn" data-testid="keyring-message">
              {keyring?.message || 'No system keyring is available on this computer.'}
            </p>
          )}
          <form
            className="key-form"
            onSubmit={(e) => {
              e.preventDefault()
              const k = key.trim()
              if (!k) return
              void run(async () => {
                await api.setGeminiKey(k, keyringUnavailable && plaintext)
                setKey('')
              }, 'Key saved.')
            }}
          >
            <label htmlFor="gemini-key-input">{keyInfo?.set ? 'Replace key' : 'API key'}</label>
            <div className="input-row">
              <input
                id="gemini-key-input"
                type="password"
                autoComplete="off"
                spellCheck={false}
                value={key}
                onChange={(e) => setKey(e.target.value)}
                placeholder="Paste your Gemini API key"
                data-testid="gemini-key-input"
              />
              <button
                type="submit"
                className="btn btn-primary"
                disabled={busy || !key.trim() || (keyringUnavailable && !plaintext)}
                data-testid="gemini-key-save"
              >
                Save key
              </button>
            </div>
            {keyringUnavailable && (
              <label className="inline-check">
                <input
                  type="checkbox"
                  checked={plaintext}
                  onChange={(e) => setPlaintext(e.target.checked)}
                  data-testid="plaintext-checkbox"
                />
                Store unencrypted in a file in the data folder
              </label>
            )}
          </form>
          {keyInfo?.set && keyInfo.source !== 'env' && (
            <button
              type="button"
              className="btn btn-danger-outline"
              disabled={busy}
              onClick={() => void run(() => api.clearGeminiKey(), 'Key removed.')}
              data-testid="gemini-key-clear"
            >
              Remove stored key
            </button>
          )}
        </section>

        <section className="settings-section" aria-labelledby="model-heading">
          <h3 id="model-heading">Model</h3>
          <form
            className="input-row"
            onSubmit={(e) => {
              e.preventDefault()
              const m = model.trim()
              if (!m) return
              void run(() => api.putSettings({ model: m }), 'Model saved.')
            }}
          >
            <label htmlFor="model-input" className="sr-only">
              Gemini model
            </label>
            <input
              id="model-input"
              value={model}
              onChange={(e) => setModel(e.target.value)}
              placeholder="gemini-2.5-flash"
              list="model-suggestions"
              spellCheck={false}
              data-testid="model-input"
            />
            <datalist id="model-suggestions">
              <option value="gemini-2.5-flash" />
              <option value="gemini-2.5-pro" />
              <option value="gemini-2.5-flash-lite" />
            </datalist>
            <button type="submit" className="btn" disabled={busy || !model.trim() || model.trim() === data?.model} data-testid="model-save">
              Save
            </button>
          </form>
        </section>

        <section className="settings-section" aria-labelledby="chat-heading">
          <h3 id="chat-heading">Chat view</h3>
          <label className="inline-check">
            <input
              type="checkbox"
              checked={chatPref === 'builtin'}
              onChange={(e) => {
                const p: ChatPreference = e.target.checked ? 'builtin' : 'auto'
                setChatPref(p)
                setChatPreference(p)
              }}
              data-testid="builtin-pref"
            />
            Always use the built-in chat view (works offline; applies after reload)
          </label>
          <p className="muted">Now showing: {chatMode === 'chatkit' ? 'ChatKit' : chatMode === 'builtin' ? 'built-in chat view' : '…'}</p>
        </section>

        <section className="settings-section" aria-labelledby="data-heading">
          <h3 id="data-heading">Data</h3>
          <DataTransfer />
          {data?.data_dir && (
            <p className="muted">
              Data folder: <code data-testid="data-dir">{data.data_dir}</code>
            </p>
          )}
        </section>

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
