// Settings → Sync server state through TanStack Query: the status, the devices of the space,
// and one runner for the section's actions that leaves a note or an error to show.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { ApiError } from '../api/client'
import { errorMessage, keys } from '../api/queryClient'
import { type SyncState, syncApi } from './syncApi'

export function useSyncState() {
  const status = useQuery({ queryKey: keys.syncStatus, queryFn: syncApi.status })
  const inSpace = Boolean(status.data?.enabled && status.data?.space)
  const devices = useQuery({ queryKey: keys.syncDevices, queryFn: async () => (await syncApi.devices()).items, enabled: inSpace })
  return {
    status: status.data ?? null,
    inSpace,
    devices: inSpace && !devices.isError ? (devices.data ?? null) : null,
    loadError: status.error ? errorMessage(status.error) : null,
  }
}

/** An action's outcome: the note to show, and optionally a fresh status to keep. */
export interface Outcome {
  note?: string
  status?: SyncState
}

export function useSyncAction() {
  const qc = useQueryClient()
  const [note, setNote] = useState<string | null>(null)
  // The keyring was missing: the form then offers the explained file fallback.
  const [needsFile, setNeedsFile] = useState(false)
  const action = useMutation({
    mutationFn: (run: () => Promise<Outcome | void>) => run(),
    onMutate: () => setNote(null),
    onSuccess: (out) => {
      if (out?.status) qc.setQueryData(keys.syncStatus, out.status)
      setNote(out?.note ?? null)
    },
    onError: (e) => {
      if (e instanceof ApiError && e.code === 'keyring_unavailable') setNeedsFile(true)
    },
    onSettled: () => qc.invalidateQueries({ queryKey: keys.syncStatus }),
  })
  return {
    run: (fn: () => Promise<Outcome | void>) => action.mutateAsync(fn).then(
      () => true,
      () => false,
    ),
    busy: action.isPending,
    note,
    error: action.error ? errorMessage(action.error) : null,
    needsFile,
  }
}
