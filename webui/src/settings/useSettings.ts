// Settings through TanStack Query; every change writes the fresh settings
// into the cache, so the header and the dialog agree.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, type Settings } from '../api/client'
import { keys } from '../api/queryClient'

export function useSettings() {
  return useQuery({ queryKey: keys.settings, queryFn: api.getSettings })
}

/** A settings change: `run` does the request; afterwards settings and sync are refetched. */
export function useSettingsChange() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: async ({ run }: { run: () => Promise<unknown>; done: string }) => {
      const out = await run()
      if (out && typeof out === 'object' && 'gemini_key' in out) qc.setQueryData<Settings>(keys.settings, out as Settings)
      return out
    },
    onSettled: () => Promise.all([qc.invalidateQueries({ queryKey: keys.settings }), qc.invalidateQueries({ queryKey: keys.syncStatus })]),
  })
}
