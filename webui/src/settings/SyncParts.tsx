// The pieces of Settings → Sync: status notes, the pairing code, the controls of a space,
// and the form that starts or joins one.
import { useState } from 'react'
import { type SyncDevice, type SyncState, when } from './syncApi'

export interface ShownCode {
  code: string
  hint: string
  qr?: string | null
}

export interface SetupBody {
  url: string
  code?: string
  device_name?: string
  allow_plaintext_file?: boolean
}

export function SyncStatusNotes({ status }: { status: SyncState | null }) {
  return (
    <>
      {status?.enabled && status.last_error && (
        <p className="warn" role="status" data-testid="sync-problem">
          Last problem: {status.last_error}
        </p>
      )}
      {!status?.enabled && status?.message && status.space && (
        <p className="warn" data-testid="sync-problem">
          {status.message}
        </p>
      )}
      {status?.enabled && !status.encrypted && status.message && <p className="warn">{status.message}</p>}
      {Boolean(status?.quarantined) && (
        <p className="warn" data-testid="sync-quarantine">
          {status?.quarantined} synced item{status?.quarantined === 1 ? '' : 's'} failed the encryption check and were set aside
          unread (someone or something changed them in the database).
        </p>
      )}
    </>
  )
}

export function PairingCodeBox({ shown }: { shown: ShownCode }) {
  return (
    <div className="sync-code-box" data-testid="sync-code-box">
      <p>Pairing code — type it on your other device (Settings → Sync → Join):</p>
      <p className="sync-code" data-testid="sync-code">
        <code style={{ fontSize: '1.25em', letterSpacing: '0.04em' }}>{shown.code}</code>
      </p>
      {shown.qr && <img src={shown.qr} alt="The pairing code as a QR code" width={148} height={148} data-testid="sync-qr" />}
      <p className="muted">
        Keep it somewhere safe (a password manager): it is the only key to your synced data, and the database host never sees
        it. It starts and ends like this: {shown.hint}.
      </p>
    </div>
  )
}

interface SpaceControlsProps {
  busy: boolean
  devices: SyncDevice[] | null
  onSyncNow: () => void
  onLeave: () => void
  onRemove: (device: SyncDevice) => void
}

export function SpaceControls({ busy, devices, onSyncNow, onLeave, onRemove }: SpaceControlsProps) {
  return (
    <>
      <div className="input-row">
        <button type="button" className="btn btn-small" disabled={busy} data-testid="sync-now" onClick={onSyncNow}>
          {busy ? 'Working…' : 'Sync now'}
        </button>
        <button
          type="button"
          className="btn btn-small btn-danger-outline"
          disabled={busy}
          data-testid="sync-leave"
          onClick={onLeave}
        >
          Stop syncing on this device
        </button>
      </div>
      {devices && (
        <ul className="sync-devices" data-testid="sync-devices">
          {devices.map((d) => (
            <li key={d.id} data-testid="sync-device">
              <span>
                {d.name}
                {d.this_device ? ' (this device)' : ''} — {d.removed ? 'removed' : `last seen ${when(d.last_seen)}`}
              </span>
              {!d.this_device && !d.removed && (
                <button type="button" className="btn btn-small" disabled={busy} aria-label={`Remove ${d.name}`} onClick={() => onRemove(d)}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </>
  )
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
