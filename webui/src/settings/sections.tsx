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
