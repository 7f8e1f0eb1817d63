import { useCallback, useEffect, useRef, useState } from 'react'
import { IconClose } from './icons'

export interface Toast {
  id: number
  message: string
  kind: 'info' | 'error'
  actionLabel?: string
  onAction?: () => void
  /** ms; 0 = sticky */
  timeout: number
}

let nextId = 1

export function useToasts() {
  const [toasts, setToasts] = useState<Toast[]>([])
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>())

  const dismiss = useCallback((id: number) => {
    const t = timers.current.get(id)
    if (t) clearTimeout(t)
    timers.current.delete(id)
    setToasts((ts) => ts.filter((x) => x.id !== id))
  }, [])

  const push = useCallback(
    (t: Omit<Toast, 'id' | 'timeout' | 'kind'> & { timeout?: number; kind?: Toast['kind'] }) => {
      const id = nextId++
      const toast: Toast = { kind: 'info', timeout: 5000, ...t, id }
      setToasts((ts) => [...ts.slice(-3), toast])
      if (toast.timeout > 0) timers.current.set(id, setTimeout(() => dismiss(id), toast.timeout))
      return id
    },
    [dismiss],
  )

  useEffect(() => {
    const map = timers.current
    return () => {
      for (const t of map.values()) clearTimeout(t)
    }
  }, [])

  return { toasts, push, dismiss }
}

export function ToastHost({ toasts, dismiss }: { toasts: Toast[]; dismiss: (id: number) => void }) {
  return (
    <div className="toast-host" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'} data-testid="toast">
          <span className="toast-msg">{t.message}</span>
          {t.actionLabel && (
            <button
              type="button"
              className="toast-action"
              data-testid={t.actionLabel === 'Undo' ? 'undo-button' : 'toast-action'}
              onClick={() => {
                t.onAction?.()
                dismiss(t.id)
              }}
            >
              {t.actionLabel}
            </button>
          )}
          <button type="button" className="icon-btn small" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            <IconClose />
          </button>
        </div>
      ))}
    </div>
  )
}
