// "Deleted 2 tasks · Undo" under the task panel, for changes the assistant made.

import { useEffect, useState } from 'react'
import { ApiError } from '../api/client'
import { type UndoEntry, undoChange } from './undo'

interface Props {
  entries: UndoEntry[]
  /** An entry was undone (or can no longer be): drop it and refresh the tasks. */
  onDone: (changeId: string) => void
  /** Expired entries: the parent prunes them. */
  onTick: () => void
  undo?: (changeId: string) => Promise<void>
}

export default function UndoBar({ entries, onDone, onTick, undo = undoChange }: Props) {
  const [busy, setBusy] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    if (!entries.length) return
    const timer = window.setInterval(onTick, 5000)
    return () => window.clearInterval(timer)
  }, [entries.length, onTick])

  if (!entries.length && !error) return null
  const run = async (changeId: string) => {
    setBusy(changeId)
    setError(null)
    try {
      await undo(changeId)
    } catch (e) {
      setError(e instanceof ApiError || e instanceof Error ? e.message : String(e))
    } finally {
      setBusy(null)
      onDone(changeId)
    }
  }
  return (
    <div className="undo-bar" role="status" aria-live="polite" data-testid="undo-bar">
      {entries.map((e) => (
        <div key={e.changeId} className="undo-entry" data-testid="undo-entry">
          <span className="undo-label">{e.label}</span>
          <button type="button" className="btn btn-small" disabled={busy !== null} onClick={() => void run(e.changeId)} data-testid="undo-button">
            Undo
          </button>
        </div>
      ))}
      {error && (
        <div className="undo-error" role="alert" data-testid="undo-error">
          {error}
        </div>
      )}
    </div>
  )
}
