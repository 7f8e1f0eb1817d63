import { useState } from 'react'
import { PairingCodeBox, type ShownCode, SpaceControls, SyncStatusNotes } from './SyncParts'
import { type SetupBody, SetupForm } from './SyncSetupForm'
import { statusLine, syncApi } from './syncApi'
import { useSyncAction, useSyncState } from './useSync'

/** Settings → Sync: paste a database URL, check it, start or join an end-to-end
 * encrypted sync space, and see what sync is doing (status, devices). */

export { type SyncDevice, type SyncState, statusLine, syncApi, when } from './syncApi'

export default function SyncSettings() {
  const { status, inSpace, devices, loadError } = useSyncState()
  const { run, busy, note, error, needsFile } = useSyncAction()
  // The code is shown once, right after the space was started; the server never sends it again.
  const [shownCode, setShownCode] = useState<ShownCode | null>(null)

  const setup = (body: SetupBody) =>
    run(async () => {
      const r = await syncApi.setup(body)
      if (r.code) {
        setShownCode({ code: r.code, hint: r.recovery_hint, qr: r.qr })
        return { note: 'Sync space started. Enter this code on your other devices.' }
      }
      const kept = Object.values(r.kept || {}).reduce((a, b) => a + b, 0)
      return { note: `Joined the sync space. ${kept} item${kept === 1 ? '' : 's'} already on this device were kept and will sync too.` }
    })

  const shownError = error ?? loadError
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
            onSyncNow={() => void run(async () => ({ status: await syncApi.run(), note: 'Sync finished.' }))}
            onLeave={() =>
              void run(async () => {
                const left = await syncApi.leave()
                setShownCode(null)
                return { status: left, note: 'This device no longer syncs. Its tasks and chats stay here.' }
              })
            }
            onRemove={(d) => void run(async () => void (await syncApi.removeDevice(d.id)))}
          />
        </>
      )}
      {!inSpace && (
        <SetupForm
          busy={busy}
          needsFile={needsFile}
          onCheck={(url) => void run(async () => ({ note: (await syncApi.check(url)).message }))}
          onSetup={setup}
        />
      )}
      <div aria-live="polite">
        {shownError && (
          <p className="form-error" role="alert" data-testid="sync-error">
            {shownError}
          </p>
        )}
        {note && !shownError && (
          <p className="form-ok" data-testid="sync-note">
            {note}
          </p>
        )}
      </div>
    </section>
  )
}
