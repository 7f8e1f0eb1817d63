// "TaskChat X.Y is available": a dismissible notice fed by GET /api/updates (app/updates.py).
// Self-contained: mount <UpdateNotice /> anywhere in the shell. It never downloads anything;
// it links to the release page and shows its notes (Markdown, raw HTML skipped).
import { useCallback, useEffect, useState } from 'react'
import Markdown from 'react-markdown'
import { errorFromResponse, sessionFetch } from '../api/client'
import './updates.css'

export interface UpdateInfo {
  version: string
  url: string
  notes: string
  name: string
  published_at: string | null
}

export interface UpdatesStatus {
  current_version: string
  enabled: boolean
  can_enable: boolean
  checked_at: string | null
  update: UpdateInfo | null
}

/** localStorage key holding the version the person said "Later" to. */
export const DISMISSED_KEY = 'taskchat.updates.dismissed'
/** The server asks the feed once a day; the UI re-reads its answer this often. */
export const POLL_MS = 60 * 60 * 1000

async function readStatus(): Promise<UpdatesStatus> {
  const res = await sessionFetch('/api/updates', { headers: { Accept: 'application/json' } })
  if (!res.ok) throw await errorFromResponse(res)
  return (await res.json()) as UpdatesStatus
}

async function setEnabled(enabled: boolean): Promise<UpdatesStatus> {
  const res = await sessionFetch('/api/updates', {
    method: 'PUT',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify({ enabled }),
  })
  if (!res.ok) throw await errorFromResponse(res)
  return (await res.json()) as UpdatesStatus
}

function readDismissed(): string | null {
  try {
    return window.localStorage.getItem(DISMISSED_KEY)
  } catch {
    return null
  }
}

function isSafeLink(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:'
  } catch {
    return false
  }
}

export default function UpdateNotice({ pollMs = POLL_MS }: { pollMs?: number }) {
  const [status, setStatus] = useState<UpdatesStatus | null>(null)
  const [dismissed, setDismissed] = useState<string | null>(readDismissed)
  const [showNotes, setShowNotes] = useState(false)
  const [problem, setProblem] = useState<string | null>(null)

  const refresh = useCallback(async () => {
    try {
      setStatus(await readStatus())
    } catch {
      // No notice is better than an error about a notice: the check is optional.
    }
  }, [])

  useEffect(() => {
    void refresh()
    const timer = window.setInterval(() => void refresh(), pollMs)
    return () => window.clearInterval(timer)
  }, [refresh, pollMs])

  const update = status?.update
  if (!update || update.version === dismissed || !isSafeLink(update.url)) return null

  const later = () => {
    try {
      window.localStorage.setItem(DISMISSED_KEY, update.version)
    } catch {
      /* private mode: hidden for this session only */
    }
    setDismissed(update.version)
  }

  const turnOff = async () => {
    try {
      setStatus(await setEnabled(false))
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err))
    }
  }

  return (
    <aside className="update-notice" role="status" aria-label="Update available" data-testid="update-notice">
      <div className="update-notice-row">
        <strong className="update-notice-title">TaskChat {update.version} is available</strong>
        <span className="update-notice-current">(you have {status?.current_version})</span>
      </div>
      <div className="update-notice-row update-notice-actions">
        <a href={update.url} target="_blank" rel="noopener noreferrer" data-testid="update-link">
          Get it
        </a>
        {update.notes && (
          <button type="button" aria-expanded={showNotes} onClick={() => setShowNotes((v) => !v)}>
            {showNotes ? 'Hide what’s new' : 'What’s new'}
          </button>
        )}
        <button type="button" onClick={later}>
          Later
        </button>
        {status?.can_enable !== false && (
          <button type="button" onClick={() => void turnOff()}>
            Don’t check for updates
          </button>
        )}
      </div>
      {showNotes && (
        <div className="update-notice-notes" data-testid="update-notes">
          <Markdown skipHtml>{update.notes}</Markdown>
        </div>
      )}
      {problem && (
        <p className="update-notice-problem" role="alert">
          {problem}
        </p>
      )}
    </aside>
  )
}
