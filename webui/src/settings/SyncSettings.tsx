import { useCallback, useEffect, useState } from 'react'
import { ApiError, errorFromResponse, sessionFetch } from '../api/client'

/** Settings → Sync: paste a database URL, check it, start or join an end-to-end
 * encrypted sync space, and see what sync is doing (status, devices). */

export interface SyncDevice {
  id: string
  name: string
  last_seen: string
  removed: boolean
  this_device: boolean
}

export interface SyncState {
  enabled: boolean
  target: string | null
  running: boolean
  last_success: string | null
  last_attempt: string | null
  last_error: string | null
  pending_changes: number
  message: string | null
  encrypted?: boolean
  space?: { id: string; role?: string | null; recovery_hint?: string | null } | null
  device?: { id: string; name: string } | null
  quarantined?: number
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await sessionFetch(path, {
    method,
    headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw await errorFromResponse(res)
  return (await res.json()) as T
}

export const syncApi = {
  status: () => call<SyncState>('GET', '/api/sync/status'),
  run: () => call<SyncState>('POST', '/api/sync/run'),
  check: (url: string) => call<{ ok: boolean; message: string }>('POST', '/api/sync/check', { url }),
  setup: (body: { url: string; code?: string; device_name?: string; allow_plaintext_file?: boolean }) =>
    call<{ code: string | null; qr?: string | null; recovery_hint: string; role: string; kept: Record<string, number>; secrets: string }>(
      'POST',
      '/api/sync/setup',
      body,
    ),
  leave: () => call<SyncState>('POST', '/api/sync/leave'),
  devices: () => call<{ items: SyncDevice[] }>('GET', '/api/sync/devices'),
  removeDevice: (id: string) => call<{ items: SyncDevice[] }>('DELETE', `/api/sync/devices/${encodeURIComponent(id)}`),
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

export function when(iso: string | null | undefined): string {
  if (!iso) return 'never'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const secs = Math.round((Date.now() - d.getTime()) / 1000)
  if (secs < 60) return 'just now'
  if (secs < 3600) return `${Math.floor(secs / 60)} min ago`
  return d.toLocaleString()
}

/** One line for the status: what a person wants to know first. */
export function statusLine(s: SyncState | null): string {
  if (!s) return 'Sync: checking…'
  if (!s.enabled) return s.space ? 'Sync: paused (see below)' : 'Sync: off'
  const parts = [s.encrypted ? 'Sync: on, end-to-end encrypted' : 'Sync: on, NOT encrypted']
  parts.push(`last sync ${when(s.last_success)}`)
  if (s.pending_changes) parts.push(`${s.pending_changes} change${s.pending_changes === 1 ? '' : 's'} waiting`)
  return parts.join(' · ')
}

export default function SyncSettings() {
  const [status, setStatus] = useState<SyncState | null>(null)
  const [devices, setDevices] = useState<SyncDevice[] | null>(null)
  const [url, setUrl] = useState('')
  const [code, setCode] = useState('')
  const [name, setName] = useState('')
  const [mode, setMode] = useState<'start' | 'join'>('start')
  const [plaintext, setPlaintext] = useState(false)
  const [needsFile, setNeedsFile] = useState(false)
  const [busy, setBusy] = useState(false)
  const [note, setNote] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [shownCode, setShownCode] = useState<{ code: string; hint: string; qr?: string | null } | null>(null)

  const inSpace = Boolean(status?.enabled && status?.space)

  const refresh = useCallback(async () => {
    try {
      const s = await syncApi.status()
      setStatus(s)
      if (s.enabled && s.space) {
        try {
          setDevices((await syncApi.devices()).items)
        } catch {
          setDevices(null)
        }
      } else {
        setDevices(null)
      }
    } catch (e) {
      setError(message(e))
    }
  }, [])

  useEffect(() => {
    void refresh()
  }, [refresh])

  const act = async (what: () => Promise<void>) => {
    setBusy(true)
    setError(null)
    setNote(null)
    try {
      await what()
    } catch (e) {
      if (e instanceof ApiError && e.code === 'keyring_unavailable') setNeedsFile(true)
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }

  const setup = () =>
    act(async () => {
      const body = {
        url: url.trim(),
        device_name: name.trim() || undefined,
        allow_plaintext_file: plaintext,
        ...(mode === 'join' ? { code: code.trim() } : {}),
      }
      const r = await syncApi.setup(body)
      setUrl('')
      setCode('')
      if (r.code) {
        setShownCode({ code: r.code, hint: r.recovery_hint, qr: r.qr })
        setNote('Sync space started. Enter this code on your other devices.')
      } else {
        const kept = Object.values(r.kept || {}).reduce((a, b) => a + b, 0)
        setNote(`Joined the sync space. ${kept} item${kept === 1 ? '' : 's'} already on this device were kept and will sync too.`)
      }
      await refresh()
    })

  return (
    <section className="settings-section" aria-labelledby="sync-heading" data-testid="sync-section">
      <h3 id="sync-heading">Sync</h3>
      <p className="sync-line" data-testid="sync-status">
        {statusLine(status)}
      </p>
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

      {shownCode && (
        <div className="sync-code-box" data-testid="sync-code-box">
          <p>Pairing code — type it on your other device (Settings → Sync → Join):</p>
          <p className="sync-code" data-testid="sync-code">
            <code style={{ fontSize: '1.25em', letterSpacing: '0.04em' }}>{shownCode.code}</code>
          </p>
          {shownCode.qr && (
            <img src={shownCode.qr} alt="The pairing code as a QR code" width={148} height={148} data-testid="sync-qr" />
          )}
          <p className="muted">
            Keep it somewhere safe (a password manager): it is the only key to your synced data, and the database host never
            sees it. It starts and ends like this: {shownCode.hint}.
          </p>
        </div>
      )}

      {inSpace && (
        <>
          {status?.space?.recovery_hint && !shownCode && (
            <p className="muted">Your pairing code starts and ends like this: {status.space.recovery_hint}.</p>
          )}
          <div className="input-row">
            <button
              type="button"
              className="btn btn-small"
              disabled={busy}
              data-testid="sync-now"
              onClick={() =>
                act(async () => {
                  setStatus(await syncApi.run())
                  setNote('Sync finished.')
                  await refresh()
                })
              }
            >
              {busy ? 'Working…' : 'Sync now'}
            </button>
            <button
              type="button"
              className="btn btn-small btn-danger-outline"
              disabled={busy}
              data-testid="sync-leave"
              onClick={() =>
                act(async () => {
                  setStatus(await syncApi.leave())
                  setShownCode(null)
                  setNote('This device no longer syncs. Its tasks and chats stay here.')
                  await refresh()
                })
              }
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
                    <button
                      type="button"
                      className="btn btn-small"
                      disabled={busy}
                      aria-label={`Remove ${d.name}`}
                      onClick={() =>
                        act(async () => {
                          setDevices((await syncApi.removeDevice(d.id)).items)
                        })
                      }
                    >
                      Remove
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </>
      )}

      {!inSpace && (
        <form
          className="sync-setup"
          onSubmit={(e) => {
            e.preventDefault()
            if (url.trim() && (mode === 'start' || code.trim())) void setup()
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
            <button
              type="button"
              className="btn btn-small"
              disabled={busy || !url.trim()}
              data-testid="sync-check"
              onClick={() =>
                act(async () => {
                  setNote((await syncApi.check(url.trim())).message)
                })
              }
            >
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
      )}

      <div aria-live="polite">
        {error && (
          <p className="form-error" role="alert" data-testid="sync-error">
            {error}
          </p>
        )}
        {note && !error && (
          <p className="form-ok" data-testid="sync-note">
            {note}
          </p>
        )}
      </div>
    </section>
  )
}
