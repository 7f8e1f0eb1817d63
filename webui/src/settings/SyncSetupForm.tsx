// Settings → Sync, before a space: the database URL (checked on request), start or join,
// the pairing code and this device's name.
import { useState } from 'react'

export interface SetupBody {
  url: string
  code?: string
  device_name?: string
  allow_plaintext_file?: boolean
}

interface SetupFormProps {
  busy: boolean
  needsFile: boolean
  onCheck: (url: string) => void
  /** Resolves true when the space was started or joined (the form then clears). */
  onSetup: (body: SetupBody) => Promise<boolean>
}

export function SetupForm({ busy, needsFile, onCheck, onSetup }: SetupFormProps) {
  const [url, setUrl] = useState('')
  const [code, setCode] = useState('')
  const [name, setName] = useState('')
  const [mode, setMode] = useState<'start' | 'join'>('start')
  const [plaintext, setPlaintext] = useState(false)

  const submit = async () => {
    const body: SetupBody = {
      url: url.trim(),
      device_name: name.trim() || undefined,
      allow_plaintext_file: plaintext,
      ...(mode === 'join' ? { code: code.trim() } : {}),
    }
    if (await onSetup(body)) {
      setUrl('')
      setCode('')
    }
  }

  return (
    <form
      className="sync-setup"
      onSubmit={(e) => {
        e.preventDefault()
        if (url.trim() && (mode === 'start' || code.trim())) void submit()
      }}
    >
      <p className="muted">
        Sync keeps your tasks and chats the same on all your devices through a PostgreSQL database you own, for example a free
        Neon project: in Neon, open the project, press <strong>Connect</strong> and copy the connection string (it starts with
        postgresql://; the pooled one is fine). Everything is encrypted on this device before it is sent.
      </p>
      <label htmlFor="sync-url-input">Database URL</label>
      <div className="input-row">
        <input
          id="sync-url-input"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          placeholder="postgresql://user:password@host/db?sslmode=require"
          data-testid="sync-url-input"
        />
        <button type="button" className="btn btn-small" disabled={busy || !url.trim()} data-testid="sync-check" onClick={() => onCheck(url.trim())}>
          Check
        </button>
      </div>
      <fieldset className="sync-mode">
        <legend className="sr-only">Start or join</legend>
        <label className="inline-check">
          <input type="radio" name="sync-mode" checked={mode === 'start'} onChange={() => setMode('start')} data-testid="sync-mode-start" />
          This is my first device: start a sync space
        </label>
        <label className="inline-check">
          <input type="radio" name="sync-mode" checked={mode === 'join'} onChange={() => setMode('join')} data-testid="sync-mode-join" />
          Join a space started on another device
        </label>
      </fieldset>
      {mode === 'join' && (
        <>
          <label htmlFor="sync-code-input">Pairing code</label>
          <input
            id="sync-code-input"
            autoComplete="off"
            spellCheck={false}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            placeholder="ABCD-EFGH-…"
            data-testid="sync-code-input"
          />
        </>
      )}
      <label htmlFor="sync-name-input">This device's name (optional)</label>
      <input id="sync-name-input" value={name} onChange={(e) => setName(e.target.value)} placeholder="Laptop" data-testid="sync-name-input" />
      {needsFile && (
        <label className="inline-check">
          <input type="checkbox" checked={plaintext} onChange={(e) => setPlaintext(e.target.checked)} data-testid="sync-plaintext-checkbox" />
          Keep the URL and sync key unencrypted in a file in the data folder (no keyring on this computer)
        </label>
      )}
      <button
        type="submit"
        className="btn btn-primary"
        disabled={busy || !url.trim() || (mode === 'join' && !code.trim())}
        data-testid={mode === 'start' ? 'sync-start' : 'sync-join'}
      >
        {busy ? 'Connecting…' : mode === 'start' ? 'Start syncing' : 'Join'}
      </button>
    </form>
  )
}
