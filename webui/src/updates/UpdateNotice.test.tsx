import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import UpdateNotice, { DISMISSED_KEY, type UpdatesStatus } from './UpdateNotice'

const newer: UpdatesStatus = {
  current_version: '0.1.0',
  enabled: true,
  can_enable: true,
  checked_at: '2026-12-04T10:00:00+00:00',
  update: {
    version: '0.2.0',
    url: 'https://github.com/taskchat/taskchat/releases/tag/v0.2.0',
    notes: "## What's new\n\n- **Faster** start\n\n<script>window.hacked = true</script><b>raw</b>",
    name: 'TaskChat 0.2.0',
    published_at: '2026-12-01T10:00:00Z',
  },
}

let status: UpdatesStatus
let requests: { method: string; url: string; body?: unknown }[]

function installFetch() {
  requests = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const method = init?.method ?? 'GET'
      const body = init?.body ? JSON.parse(String(init.body)) : undefined
      requests.push({ method, url: String(input), body })
      if (method === 'PUT') {
        status = { ...status, enabled: Boolean(body.enabled), update: body.enabled ? status.update : null }
      }
      return Response.json(status)
    }),
  )
}

async function mount(pollMs?: number) {
  await act(async () => {
    render(<UpdateNotice pollMs={pollMs} />)
  })
}

describe('UpdateNotice', () => {
  beforeEach(() => {
    window.localStorage.clear()
    status = structuredClone(newer)
    installFetch()
  })
  afterEach(() => {
    cleanup()
    vi.unstubAllGlobals()
    vi.useRealTimers()
  })

  it('announces a newer version with a link and its notes as Markdown, no raw HTML', async () => {
    await mount()
    expect(screen.getByText('TaskChat 0.2.0 is available')).toBeTruthy()
    const link = screen.getByTestId('update-link') as HTMLAnchorElement
    expect(link.href).toBe(newer.update!.url)
    expect(link.rel).toContain('noopener')
    expect(screen.queryByTestId('update-notes')).toBeNull()
    fireEvent.click(screen.getByRole('button', { name: 'What’s new' }))
    const notes = screen.getByTestId('update-notes')
    expect(notes.querySelector('h2')?.textContent).toBe("What's new")
    expect(notes.querySelector('strong')?.textContent).toBe('Faster')
    expect(notes.querySelector('script')).toBeNull()
    expect(notes.querySelector('b')).toBeNull()
    expect((window as unknown as { hacked?: boolean }).hacked).toBeUndefined()
    expect(requests).toEqual([{ method: 'GET', url: '/api/updates', body: undefined }])
  })

  it('shows nothing when there is no newer version', async () => {
    status.update = null
    await mount()
    expect(screen.queryByTestId('update-notice')).toBeNull()
  })

  it('shows nothing for a link that is not https', async () => {
    status.update!.url = 'javascript:alert(1)'
    await mount()
    expect(screen.queryByTestId('update-notice')).toBeNull()
  })

  it('Later hides this version for good, but not the next one', async () => {
    await mount()
    fireEvent.click(screen.getByRole('button', { name: 'Later' }))
    expect(screen.queryByTestId('update-notice')).toBeNull()
    expect(window.localStorage.getItem(DISMISSED_KEY)).toBe('0.2.0')
    cleanup()
    await mount()
    expect(screen.queryByTestId('update-notice')).toBeNull()
    cleanup()
    status.update!.version = '0.3.0'
    await mount()
    expect(screen.getByText('TaskChat 0.3.0 is available')).toBeTruthy()
  })

  it('turning the check off tells the server and hides the notice', async () => {
    await mount()
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Don’t check for updates' }))
    })
    expect(requests.at(-1)).toEqual({ method: 'PUT', url: '/api/updates', body: { enabled: false } })
    expect(screen.queryByTestId('update-notice')).toBeNull()
  })

  it('offers no off switch when the environment already decides', async () => {
    status.can_enable = false
    await mount()
    expect(screen.queryByRole('button', { name: 'Don’t check for updates' })).toBeNull()
  })

  it('stays silent when the server fails, and picks the update up on the next poll', async () => {
    vi.useFakeTimers()
    let fail = true
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        fail
          ? Response.json({ error: { code: 'boom', message: 'nope' } }, { status: 500 })
          : Response.json(status),
      ),
    )
    await mount(1000)
    expect(screen.queryByTestId('update-notice')).toBeNull()
    expect(screen.queryByRole('alert')).toBeNull()
    fail = false
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1000)
    })
    expect(screen.getByText('TaskChat 0.2.0 is available')).toBeTruthy()
  })
})
