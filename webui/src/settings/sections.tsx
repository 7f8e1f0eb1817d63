// Settings → Model, Chat view, Data (export/import, data folder, sync).

import { useEffect, useState } from 'react'
import { api, type Settings, type SyncStatus } from '../api/client'
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

export function syncSummary(sync: SyncStatus | null | undefined): string {
  if (!sync) return 'Sync: not configured'
  if (sync.configured === false || sync.enabled === false) return 'Sync: not configured'
  const parts: string[] = ['Sync: configured']
  const last = sync.last_sync_at ?? sync.last_synced_at ?? sync.last_run_at
  if (typeof last === 'string' && last) {
    const d = new Date(last)
    parts.push(`last run ${Number.isNaN(d.getTime()) ? last : d.toLocaleString()}`)
  }
  if (typeof sync.status === 'string') parts.push(sync.status)
  if (typeof sync.error === 'string' && sync.error) parts.push(`error: ${sync.error}`)
  return parts.join(' · ')
}

interface DataProps {
  data: Settings | undefined
  sync: SyncStatus | null | undefined
  syncing: boolean
  run: Run
}

export function DataSection({ data, sync, syncing, run }: DataProps) {
  return (
    <section className="settings-section" aria-labelledby="data-heading">
      <h3 id="data-heading">Data</h3>
      <DataTransfer />
      {data?.data_dir && (
        <p className="muted">
          Data folder: <code data-testid="data-dir">{data.data_dir}</code>
        </p>
      )}
      <div className="input-row">
        <p className="sync-line" data-testid="sync-status">
          {sync === undefined ? 'Sync: checking…' : syncSummary(sync)}
        </p>
        {sync && syncSummary(sync) !== 'Sync: not configured' && (
          <button type="button" className="btn btn-small" disabled={syncing} onClick={() => run(() => api.runSync(), 'Sync finished.')}>
            {syncing ? 'Syncing…' : 'Sync now'}
          </button>
        )}
      </div>
    </section>
  )
}
