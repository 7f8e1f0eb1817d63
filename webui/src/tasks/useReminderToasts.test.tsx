import { render } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'

import { api } from '../api/client'
import { noticeMessage, useReminderToasts } from './useReminderToasts'

function Host({ push }: { push: (t: { message: string }) => void }) {
  useReminderToasts(push, 60_000)
  return null
}

const notice = (seq: number, delivered: 'toast' | 'desktop', title = 'Feed the cat') => ({
  seq,
  kind: 'reminder' as const,
  title,
  body: 'Due Sat 05 Dec, 09:00',
  task_ids: ['t1'],
  at: '2026-12-04T09:00:00Z',
  delivered,
})

afterEach(() => {
  vi.restoreAllMocks()
  sessionStorage.clear()
})

describe('useReminderToasts', () => {
  it('shows only toast notices, once', async () => {
    const spy = vi
      .spyOn(api, 'reminderNotices')
      .mockResolvedValue({ items: [notice(1, 'desktop', 'Shown on the desktop'), notice(2, 'toast')], last: 2 })
    const push = vi.fn()
    render(<Host push={push} />)
    await vi.waitFor(() => expect(push).toHaveBeenCalledTimes(1))
    expect(push.mock.calls[0][0].message).toBe('Reminder: Feed the cat — Due Sat 05 Dec, 09:00')
    expect(spy).toHaveBeenCalledWith(0)
    expect(sessionStorage.getItem('taskchat.reminders.seen')).toBe('2')
  })

  it('words a catch-up notice on one line', () => {
    expect(
      noticeMessage({ ...notice(3, 'toast', '2 reminders while TaskChat was closed'), body: 'Pay rent\nRenew passport' }),
    ).toBe('Reminder: 2 reminders while TaskChat was closed — Pay rent, Renew passport')
  })
})
