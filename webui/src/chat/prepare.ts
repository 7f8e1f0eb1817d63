// Asking the server to get the next chat turn ready while the person types.
import { useCallback, useRef } from 'react'
import { api } from '../api/client'

/** How often a view asks at most. The server rehearses once per process, and later only
 * reopens its connection to Gemini when that has sat unused for a minute (so one closed
 * while the person was away is open again by the time they send); asking more often than
 * this would only repeat a no-op. */
export const PREPARE_AGAIN_MS = 30_000

/** A function to call whenever the person starts (or goes on) typing a message: it asks
 * the server (POST /api/chat/prepare) at most once per PREPARE_AGAIN_MS. */
export function usePrepareChat(): () => void {
  const last = useRef(-Infinity)
  return useCallback(() => {
    const now = Date.now()
    if (now - last.current < PREPARE_AGAIN_MS) return
    last.current = now
    api.prepareChat()
  }, [])
}
