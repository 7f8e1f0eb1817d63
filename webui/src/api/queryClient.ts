// The one QueryClient: server state (tasks, threads, settings, search) lives in its cache.

import { QueryClient, focusManager } from '@tanstack/react-query'

// Refetch when the window comes back: the library listens to visibilitychange only, and a
// desktop window (pywebview) that regains focus stays "visible" all along.
focusManager.setEventListener((handleFocus) => {
  if (typeof window === 'undefined') return undefined
  const onChange = () => handleFocus(document.visibilityState === 'visible')
  window.addEventListener('focus', onChange)
  document.addEventListener('visibilitychange', onChange)
  return () => {
    window.removeEventListener('focus', onChange)
    document.removeEventListener('visibilitychange', onChange)
  }
})

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      // A local server: a failure is real (or the session expired), retrying hides it.
      queries: { retry: false, staleTime: 0 },
      mutations: { retry: false },
    },
  })
}

/** Query keys, one place: invalidating a prefix refreshes everything under it. */
export const keys = {
  tasks: ['tasks'] as const,
  lists: ['lists'] as const,
  taskList: (query: object) => ['tasks', 'list', query] as const,
  threads: ['threads'] as const,
  taskLinks: (threadId: string) => ['threads', threadId, 'task-links'] as const,
  settings: ['settings'] as const,
  syncStatus: ['sync-status'] as const,
  syncDevices: ['sync-status', 'devices'] as const,
  search: (q: string) => ['search', q] as const,
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
