// Modal dialog behaviour: focus the first control on open, give focus back on close,
// keep Tab inside, close on Esc (even when focus fell out of the dialog).

import { type KeyboardEvent as ReactKeyboardEvent, type RefObject, useEffect, useRef } from 'react'

const FOCUSABLE = 'button, input, select, textarea, a[href]'

export function useDialog(open: boolean, ref: RefObject<HTMLElement | null>, onClose: () => void) {
  const closeRef = useRef(onClose)
  closeRef.current = onClose

  useEffect(() => {
    if (!open) return
    const lastFocus = document.activeElement
    const t = setTimeout(() => {
      ref.current?.querySelector<HTMLElement>('input:not([disabled]), button:not([disabled])')?.focus()
    }, 0)
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !e.defaultPrevented) closeRef.current()
    }
    window.addEventListener('keydown', onKey)
    return () => {
      clearTimeout(t)
      window.removeEventListener('keydown', onKey)
      if (lastFocus instanceof HTMLElement) lastFocus.focus()
    }
  }, [open, ref])

  /** onKeyDown for the dialog element: Tab cycles inside it. */
  return (e: ReactKeyboardEvent) => {
    if (e.key !== 'Tab' || !ref.current) return
    const els = [...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => !el.hasAttribute('disabled'))
    if (els.length === 0) return
    const first = els[0]
    const last = els[els.length - 1]
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault()
      last.focus()
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault()
      first.focus()
    }
  }
}
