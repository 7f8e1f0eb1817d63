import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { renderWithQuery } from '../test/render'
import SyncSettings, { statusLine, type SyncState } from './SyncSettings'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const OFF: SyncState = {
  enabled: false,
  target: null,
  running: false,
  last_success: null,
  last_attempt: null,
  last_error: null,
  pending_changes: 0,
  message: 'Sync is off: no sync URL is set.',
  space: null,
}
const ON: SyncState = {
  ...OFF,
  enabled: true,
  target: 'db.example/tasks',
  last_success: new Date().toISOString(),
  pending_changes: 2,
  message: null,
  encrypted: true,
  space: { id: 's-1', role: 'started', recovery_hint: 'ABCD-…-WXYZ' },
}

type Route = (body: unknown) => Response

function server(routes: Record<string, Route>) {
  const calls: { key: string; body: unknown }[] = []
  const f = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const key = `${init?.method ?? 'GET'} ${String(input)}`
    const body = init?.body ? JSON.parse(String(init.body)) : undefined
    calls.push({ key, body })
    const route = routes[key]
    if (!route) return Response.json({ error: { code: 'not_found', message: key } }, { status: 404 })
    return route(body)
  })
  vi.stubGlobal('fetch', f)
  return calls
}

describe('statusLine', () => {
  it('says whether sync is on, encrypted, when it last ran and what waits', () => {
    expect(statusLine(null)).toBe('Sync: checking…')
    expect(statusLine(OFF)).toBe('Sync: off')
    expect(statusLine(ON)).toBe('Sync: on, end-to-end encrypted · last sync just now · 2 changes waiting')
    expect(statusLine({ ...ON, encrypted: false, pending_changes: 0 })).toContain('NOT encrypted')
  })
})

describe('SyncSettings', () => {
  it('starts a space and shows the pairing code, then the devices', async () => {
    let state = OFF
    const calls = server({
      'GET /api/sync/status': () => Response.json(state),
      'POST /api/sync/check': () => Response.json({ ok: true, message: 'Connected to db.example/tasks (PostgreSQL 17).' }),
      'POST /api/sync/setup': () => {
        state = ON
        return Response.json({
          code: 'AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH',
          qr: 'data:image/svg+xml,qr',
          recovery_hint: 'AAAA-…-HHHH',
          role: 'started',
          kept: {},
          secrets: 'keyring',
        })
      },
      'GET /api/sync/devices': () =>
        Response.json({ items: [{ id: 'd1', name: 'Laptop', last_seen: new Date().toISOString(), removed: false, this_device: true }] }),
    })
    renderWithQuery(<SyncSettings />)
    expect(await screen.findByText('Sync: off')).toBeTruthy()
    expect(screen.getByText(/press/).textContent).toContain('Connect')
    fireEvent.change(screen.getByTestId('sync-url-input'), { target: { value: ' postgresql://u:p@h/db ' } })
    fireEvent.click(screen.getByTestId('sync-check'))
    expect(await screen.findByText(/Connected to db.example/)).toBeTruthy()
    fireEvent.click(screen.getByTestId('sync-start'))
    expect((await screen.findByTestId('sync-code')).textContent).toBe('AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH')
    expect(screen.getByTestId('sync-qr').getAttribute('src')).toBe('data:image/svg+xml,qr')
    expect(calls.find((c) => c.key === 'POST /api/sync/setup')?.body).toEqual({ url: 'postgresql://u:p@h/db', allow_plaintext_file: false })
    expect(await screen.findByText(/Laptop \(this device\)/)).toBeTruthy()
    expect(screen.getByTestId('sync-status').textContent).toContain('end-to-end encrypted')
    expect(screen.getByTestId('sync-now')).toBeTruthy()
    expect(screen.getByTestId('sync-leave').textContent).toBe('Stop syncing on this device')
  })

  it('joins with a code, explains a wrong one, and offers the file when no keyring works', async () => {
    let attempts = 0
    const calls = server({
      'GET /api/sync/status': () => Response.json(OFF),
      'POST /api/sync/setup': (body) => {
        attempts += 1
        const b = body as { code: string; allow_plaintext_file: boolean }
        if (b.code === 'WRONG') {
          return Response.json(
            { error: { code: 'wrong_pairing_code', message: 'No sync space in this database opens with that pairing code.' } },
            { status: 403 },
          )
        }
        if (!b.allow_plaintext_file) {
          return Response.json({ error: { code: 'keyring_unavailable', message: 'No keyring. The sync URL and key were NOT saved.' } }, { status: 409 })
        }
        return Response.json({ code: null, recovery_hint: 'AAAA-…-HHHH', role: 'joined', kept: { task: 3, chat_thread: 1 }, secrets: 'file' })
      },
    })
    renderWithQuery(<SyncSettings />)
    await screen.findByText('Sync: off')
    fireEvent.click(screen.getByTestId('sync-mode-join'))
    fireEvent.change(screen.getByTestId('sync-url-input'), { target: { value: 'postgresql://u:p@h/db' } })
    fireEvent.change(screen.getByTestId('sync-code-input'), { target: { value: 'WRONG' } })
    fireEvent.click(screen.getByTestId('sync-join'))
    expect((await screen.findByTestId('sync-error')).textContent).toContain('No sync space')
    fireEvent.change(screen.getByTestId('sync-code-input'), { target: { value: 'RIGHT' } })
    fireEvent.click(screen.getByTestId('sync-join'))
    expect((await screen.findByTestId('sync-error')).textContent).toContain('NOT saved')
    fireEvent.click(screen.getByTestId('sync-plaintext-checkbox'))
    fireEvent.click(screen.getByTestId('sync-join'))
    await waitFor(() => expect(screen.getByTestId('sync-note').textContent).toContain('4 items already on this device were kept'))
    expect(attempts).toBe(3)
    expect(calls.filter((c) => c.key === 'POST /api/sync/setup').at(-1)?.body).toMatchObject({ code: 'RIGHT', allow_plaintext_file: true })
  })

  it('shows the last problem and quarantined rows in plain words', async () => {
    server({
      'GET /api/sync/status': () => Response.json({ ...ON, last_error: 'Could not reach the sync database at h/db.', quarantined: 2 }),
      'GET /api/sync/devices': () => Response.json({ items: [] }),
    })
    renderWithQuery(<SyncSettings />)
    expect((await screen.findByTestId('sync-problem')).textContent).toBe('Last problem: Could not reach the sync database at h/db.')
    expect(screen.getByTestId('sync-quarantine').textContent).toContain('2 synced items failed the encryption check')
  })
})
