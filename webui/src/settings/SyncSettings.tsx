import { useCallback, useEffect, useState } from 'react'
import { ApiError } from '../api/client'
import { PairingCodeBox, type SetupBody, SetupForm, type ShownCode, SpaceControls, SyncStatusNotes } from './SyncParts'
import { type SyncDevice, type SyncState, message, statusLine, syncApi } from './syncApi'

/** Settings → Sync: paste a database URL, check it, start or join an end-to-end
 * encrypted sync space, and see what sync is doing (status, devices). */

export { type SyncDevice, type SyncState, statusLine, syncApi, when } from './syncApi'

export default function SyncSettings() {
  const [status, setStatus] = useState<SyncState | null>(null)
  const [devices, setDevices] = useState<SyncDevice[] | null>(null)
  const [needsFile, setNeedsFile] = useState(false)
  const [busy, setBusy] = useState(false)
  const [note, setNote] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [shownCode, setShownCode] = useState<ShownCode | null>(null)

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

  const act = async (what: () => Promise<void>): Promise<boolean> => {
    setBusy(true)
    setError(null)
    setNote(null)
    try {
      await what()
      return true
    } catch (e) {
      if (e instanceof ApiError && e.code === 'keyring_unavailable') setNeedsFile(true)
      setError(message(e))
      return false
    } finally {
      setBusy(false)
    }
  }

  const setup = (body: SetupBody) =>
    act(async () => {
      const r = await syncApi.setup(body)
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
      <SyncStatusNotes status={status} />
      {shownCode && <PairingCodeBox shown={shownCode} />}
      {inSpace && (
        <>
          {status?.space?.recovery_hint && !shownCode && (
            <p className="muted">Your pairing code starts and ends like this: {status.space.recovery_hint}.</p>
          )}
          <SpaceControls
            busy={busy}
            devices={devices}
            onSyncNow={() =>
              void act(async () => {
                setStatus(await syncApi.run())
                setNote('Sync finished.')
                await refresh()
              })
            }
            onLeave={() =>
              void act(async () => {
                setStatus(await syncApi.leave())
                setShownCode(null)
                setNote('This device no longer syncs. Its tasks and chats stay here.')
                await refresh()
              })
            }
            onRemove={(d) => void act(async () => setDevices((await syncApi.removeDevice(d.id)).items))}
          />
        </>
      )}
      {!inSpace && (
        <SetupForm
          busy={busy}
          needsFile={needsFile}
          onCheck={(url) => void act(async () => setNote((await syncApi.check(url)).message))}
          onSetup={setup}
        />
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
