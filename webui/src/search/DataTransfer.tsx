// Settings → Data: download everything as a zip; merge an export back in.

import { useRef, useState } from 'react'
import { ApiError, api, type ImportReport, EXPORT_ICS_URL } from '../api/client'
import './search.css'

function summary(r: ImportReport): string {
  const added = Object.entries(r.inserted)
    .filter(([, n]) => n)
    .map(([k, n]) => `${n} ${k}`)
  const updated = Object.entries(r.updated)
    .filter(([, n]) => n)
    .map(([k, n]) => `${n} ${k}`)
  if (!added.length && !updated.length) return 'Import finished: nothing new (already up to date).'
  return `Import finished: ${added.length ? `added ${added.join(', ')}` : ''}${added.length && updated.length ? '; ' : ''}${updated.length ? `updated ${updated.join(', ')}` : ''}.`
}

export default function DataTransfer({ onImported }: { onImported?: () => void }) {
  const fileRef = useRef<HTMLInputElement>(null)
  const [busy, setBusy] = useState(false)
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null)

  return (
    <div className="data-transfer">
      <div className="data-actions">
        <a className="btn btn-small" href={api.exportUrl} download data-testid="export-button">
          Export (zip)
        </a>
        <a className="btn btn-small" href={EXPORT_ICS_URL} download data-testid="export-ics-button" title="Tasks with due dates, repeat rules and reminders for a calendar app">
          Calendar (.ics)
        </a>
        <button type="button" className="btn btn-small" disabled={busy} onClick={() => fileRef.current?.click()} data-testid="import-button">
          {busy ? 'Importing…' : 'Import…'}
        </button>
        <input
          ref={fileRef}
          type="file"
          accept=".zip,.json,application/zip,application/json"
          hidden
          data-testid="import-file"
          onChange={async (e) => {
            const file = e.target.files?.[0]
            e.target.value = ''
            if (!file) return
            setBusy(true)
            setMessage(null)
            try {
              const report = await api.importData(file)
              setMessage({ ok: true, text: summary(report) })
              onImported?.()
            } catch (err) {
              setMessage({ ok: false, text: err instanceof ApiError ? err.message : String(err) })
            } finally {
              setBusy(false)
            }
          }}
        />
      </div>
      <p className="muted">
        The zip holds export.json (everything, for import on another computer) and Markdown files to read. Importing
        merges: nothing is overwritten by older data, and importing twice changes nothing. Your API key is never
        exported.
      </p>
      {message && (
        <p className={message.ok ? 'form-ok' : 'form-error'} role="status" data-testid="import-result">
          {message.text}
        </p>
      )}
    </div>
  )
}
