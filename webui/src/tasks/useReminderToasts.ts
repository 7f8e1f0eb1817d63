// In-app reminders: when no desktop notification service took a reminder (a bare server, a
// locked-down desktop), the server keeps it as a "toast" notice; this shows it in the app.

import { useEffect, useRef } from 'react'

import { api, type ReminderNotice } from '../api/client'

/** How often the app asks for new notices (the server's scheduler itself never polls). */
export const NOTICE_POLL_MS = 20_000
const SEEN_KEY = 'taskchat.reminders.seen'

type Push = (t: { message: string; timeout?: number; kind?: 'info' | 'error' }) => unknown

export function noticeMessage(n: ReminderNotice): string {
  const body = n.body && n.body !== 'Reminder' ? ` — ${n.body.replace(/\n/g, ', ')}` : ''
  return `Reminder: ${n.title}${body}`
}

/** Shows every "toast" notice once (across reloads of this tab). */
export function useReminderToasts(push: Push, pollMs: number = NOTICE_POLL_MS): void {
  const seen = useRef(Number(sessionStorage.getItem(SEEN_KEY) ?? 0) || 0)
  useEffect(() => {
    let stopped = false
    const check = async () => {
      try {
        const page = await api.reminderNotices(seen.current)
        if (stopped) return
        for (const n of page.items) {
          if (n.seq > seen.current && n.delivered === 'toast') push({ message: noticeMessage(n), timeout: 0 })
        }
        if (typeof page.last !== 'number') return
        // The server restarted (its notices start again at 1): read them from the start.
        seen.current = page.last < seen.current ? 0 : Math.max(seen.current, page.last)
        sessionStorage.setItem(SEEN_KEY, String(seen.current))
      } catch {
        // Signed out or the server is restarting: the next round tries again.
      }
    }
    void check()
    const timer = setInterval(() => void check(), pollMs)
    return () => {
      stopped = true
      clearInterval(timer)
    }
  }, [push, pollMs])
}
