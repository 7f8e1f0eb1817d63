// Settings → Model, Chat view, Data (export/import, data folder, sync).

import { useEffect, useState } from 'react'
import { api, type Settings } from '../api/client'
import { type ChatPreference, getChatPreference, setChatPreference } from '../chat/loader'
import DataTransfer from '../search/DataTransfer'

type Run = (what: () => Promise<unknown>, done: string) => void

export function ModelSection({ data, busy, run }: { data: Settings | undefined; busy: boolean; run: Run }) {
  const [model, setModel] = useState('')
  const saved = data?.model ?? ''
  useEffect(() => setModel(saved), [saved])
  return (
    <section className="settings-section" aria-labelledby="model-heading">
      <h3 id="model-heading">Model</h3>
      <form
        className="input-row"
        onSubmit={(e) => {
          e.preventDefault()
          const m = model.trim()
          if (m) run(() => api.putSettings({ model: m }), 'Model saved.')
        }}
      >
        <label htmlFor="model-input" className="sr-only">
          Gemini model
        </label>
        <input id="model-input" value={model} onChange={(e) => setModel(e.target.value)} placeholder="gemini-2.5-flash" list="model-suggestions" spellCheck={false} data-testid="model-input" />
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
  )
}

/** This computer's zone, as the browser knows it. */
function localZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone
  } catch {
    return ''
  }
}

function knownZones(): string[] {
  try {
    return (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? []
  } catch {
    return []
  }
}

/** The zone in which "tomorrow" and "at 9" are read, and due dates shown. */
export function TimeZoneSection({ data, busy, run }: { data: Settings | undefined; busy: boolean; run: Run }) {
  const saved = data?.timezone ?? ''
  const [zone, setZone] = useState(saved)
  useEffect(() => setZone(saved), [saved])
  const here = localZone()
  const value = zone.trim()
  return (
    <section className="settings-section" aria-labelledby="tz-heading">
      <h3 id="tz-heading">Time zone</h3>
      <p className="muted">
        Used to read dates like &ldquo;tomorrow at 9&rdquo; and to show due times. Now:{' '}
        <strong data-testid="timezone-current">{data == null ? '…' : saved || `this computer's zone${here ? ` (${here})` : ''}`}</strong>
      </p>
      <form
        className="input-row"
        onSubmit={(e) => {
          e.preventDefault()
          if (value) run(() => api.putSettings({ timezone: value }), `Time zone set to ${value}.`)
        }}
      >
        <label htmlFor="timezone-input" className="sr-only">
          Time zone (IANA name, for example Europe/Berlin)
        </label>
        <input id="timezone-input" value={zone} onChange={(e) => setZone(e.target.value)} placeholder="Europe/Berlin" list="timezone-list" spellCheck={false} data-testid="timezone-input" />
        <datalist id="timezone-list">
          {knownZones().map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
        <button type="submit" className="btn" disabled={busy || !value || value === saved} data-testid="timezone-save">
          Save
        </button>
      </form>
      {saved && (
        // An empty zone means "follow this computer", also after it moves to another zone.
        <button type="button" className="btn btn-small" disabled={busy} onClick={() => run(() => api.putSettings({ timezone: '' }), "Time zone: this computer's.")} data-testid="timezone-local">
          Use this computer&apos;s zone{here ? ` (${here})` : ''}
        </button>
      )}
    </section>
  )
}

export function ChatViewSection({ chatMode }: { chatMode: 'chatkit' | 'builtin' | null }) {
  const [pref, setPref] = useState<ChatPreference>(getChatPreference())
  return (
    <section className="settings-section" aria-labelledby="chat-heading">
      <h3 id="chat-heading">Chat view</h3>
      <label className="inline-check">
        <input
          type="checkbox"
          checked={pref === 'builtin'}
          onChange={(e) => {
            const p: ChatPreference = e.target.checked ? 'builtin' : 'auto'
            setPref(p)
            setChatPreference(p)
          }}
          data-testid="builtin-pref"
        />
        Always use the built-in chat view (works offline; applies after reload)
      </label>
      <p className="muted">Now showing: {chatMode === 'chatkit' ? 'ChatKit' : chatMode === 'builtin' ? 'built-in chat view' : '…'}</p>
    </section>
  )
}

interface DataProps {
  data: Settings | undefined
}

/** Export/import and the data folder (sync has its own section: SyncSettings.tsx). */
export function DataSection({ data }: DataProps) {
  return (
    <section className="settings-section" aria-labelledby="data-heading">
      <h3 id="data-heading">Data</h3>
      <DataTransfer />
      {data?.data_dir && (
        <p className="muted">
          Data folder: <code data-testid="data-dir">{data.data_dir}</code>
        </p>
      )}
    </section>
  )
}
