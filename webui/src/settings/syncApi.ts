// REST calls and small helpers for Settings → Sync (app/sync/routes.py).
import { request } from '../api/client'
import type { components } from '../api/schema'

// The types come from the server's response models (app/sync/routes.py), written into
// ../api/schema.d.ts by scripts/gen_api_types.sh; none are written by hand here.
type Schemas = components['schemas']
type StatusOut = Schemas['SyncStatusOut']
export type SyncDevice = Schemas['SyncDeviceOut']
/** The status as the server sends it; the fields the section can do without are optional
 * (a status made in a test or by an older server may lack them). */
export type SyncState = Pick<
  StatusOut,
  'enabled' | 'target' | 'running' | 'last_success' | 'last_attempt' | 'last_error' | 'pending_changes' | 'message'
> &
  Partial<StatusOut>
/** `url` alone starts a space; with `code` it joins one. */
export type SyncSetupBody = Pick<Schemas['SetupBody'], 'url'> & Partial<Schemas['SetupBody']>
export type SyncSetup = Schemas['SetupOut']

export const syncApi = {
  status: () => request<SyncState>('GET', '/api/sync/status'),
  run: () => request<SyncState>('POST', '/api/sync/run'),
  check: (url: string) => request<Schemas['CheckOut']>('POST', '/api/sync/check', { url }),
  setup: (body: SyncSetupBody) => request<SyncSetup>('POST', '/api/sync/setup', body),
  leave: () => request<SyncState>('POST', '/api/sync/leave'),
  devices: () => request<Schemas['SyncDevicesOut']>('GET', '/api/sync/devices'),
  removeDevice: (id: string) =>
    request<Schemas['SyncDevicesOut']>('DELETE', `/api/sync/devices/${encodeURIComponent(id)}`),
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

