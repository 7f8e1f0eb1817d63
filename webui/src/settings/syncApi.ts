// REST calls and small helpers for Settings → Sync (app/sync/routes.py).
import { request } from '../api/client'

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

export const syncApi = {
  status: () => request<SyncState>('GET', '/api/sync/status'),
  run: () => request<SyncState>('POST', '/api/sync/run'),
  check: (url: string) => request<{ ok: boolean; message: string }>('POST', '/api/sync/check', { url }),
  setup: (body: { url: string; code?: string; device_name?: string; allow_plaintext_file?: boolean }) =>
    request<{ code: string | null; qr?: string | null; recovery_hint: string; role: string; kept: Record<string, number>; secrets: string }>(
      'POST',
      '/api/sync/setup',
      body,
    ),
  leave: () => request<SyncState>('POST', '/api/sync/leave'),
  devices: () => request<{ items: SyncDevice[] }>('GET', '/api/sync/devices'),
  removeDevice: (id: string) => request<{ items: SyncDevice[] }>('DELETE', `/api/sync/devices/${encodeURIComponent(id)}`),
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

