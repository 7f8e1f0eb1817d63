// Settings → Data: download everything as a zip; merge an export back in.

import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useRef } from 'react'
import { api, type ImportResult } from '../api/client'
import { errorMessage, keys } from '../api/queryClient'
import './search.css'

/** "3 tasks" for every kind with a count (the report is counts per kind). */
function counts(part: unknown): string[] {
  if (!part || typeof part !== 'object') return []
  return Object.entries(part)
    .filter(([, n]) => typeof n === 'number' && n)
    .map(([k, n]) => `${n} ${n === 1 ? k.replace(/s$/, '') : k}`) // "1 task", not "1 tasks"
}

function summary(r: ImportResult): string {
  const added = counts(r.inserted)
  const updated = counts(r.updated)
  if (!added.length && !updated.length) return 'Import finished: nothing new (already up to date).'
  return `Import finished: ${added.length ? `added ${added.join(', ')}` : ''}${added.length && updated.length ? '; ' : ''}${updated.length ? `updated ${updated.join(', ')}` : ''}.`
}

export default function DataTransfer() {
  const fileRef = useRef<HTMLInputElement>(null)
  const qc = useQueryClient()
  // Imported tasks and conversations show up at once in the panel and the thread list.
  const importing = useMutation({
    mutationFn: (file: File) => api.importData(file),
    onSuccess: () => Promise.all([qc.invalidateQueries({ queryKey: keys.tasks }), qc.invalidateQueries({ queryKey: keys.threads })]),
  })
  const busy = importing.isPending
  const message = importing.isSuccess
    ? { ok: true, text: summary(importing.data) }
    : importing.isError
      ? { ok: false, text: errorMessage(importing.error) }
      : null

  return (
    <div className="data-transfer">
      <div className="data-actions">
        <a className="btn btn-small" href={api.exportUrl} download data-testid="export-button">
          Export (zip)
        </a>
        <a className="btn btn-small" href={api.exportIcsUrl} download data-testid="export-ics-button" title="Tasks with due dates, repeat rules and reminders for a calendar app">
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
          onChange={(e) => {
            const file = e.target.files?.[0]
            e.target.value = ''
            if (file) importing.mutate(file)
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
