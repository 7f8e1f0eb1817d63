// The pieces of Settings → Sync: status notes, the pairing code and the controls of a space
// (the form that starts or joins one is SyncSetupForm.tsx).
import { type SyncDevice, type SyncState, when } from './syncApi'

export interface ShownCode {
  code: string
  hint: string
  qr?: string | null
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
