// Single-key shortcuts (Todoist-style): never while the person types in a field, never
// with Ctrl/Cmd/Alt held, never behind an open dialog.

import { useEffect, useRef } from 'react'

/** Every shortcut, for the `?` help (and the tests). */
export const SHORTCUTS: { keys: string[]; what: string }[] = [
  { keys: ['q'], what: 'Add a task' },
  { keys: ['/', 'Ctrl+K'], what: 'Search chats and tasks' },
  { keys: ['n'], what: 'New chat' },
  { keys: ['j', '↓'], what: 'Next task' },
  { keys: ['k', '↑'], what: 'Previous task' },
  { keys: ['x', 'Space'], what: 'Complete or reopen the task' },
  { keys: ['e', 'Enter'], what: 'Edit the task' },
  { keys: ['Delete'], what: 'Delete the task' },
  { keys: ['→', '←'], what: "Move between a task's buttons" },
  { keys: ['Esc'], what: 'Stop a reply · close a dialog' },
  { keys: ['?'], what: 'Show these shortcuts' },
]

const TEXT_INPUTS = new Set(['text', 'search', 'email', 'url', 'password', 'number', 'tel', 'date', 'datetime-local', 'time', 'month', 'week'])

/** True when keys typed at `target` are text (a shortcut must leave them alone). */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true
  return target instanceof HTMLInputElement && TEXT_INPUTS.has(target.type)
}

// Events a shortcut already took: other shortcuts for the same key still run (the app
// switches to the chat tab on n, the chat view starts a new conversation).
const taken = new WeakSet<Event>()

export function shortcutAllowed(e: KeyboardEvent): boolean {
  if ((e.defaultPrevented && !taken.has(e)) || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return false
  if (isTyping(e.target)) return false
  return !document.querySelector('[aria-modal="true"]')
}

/** Calls `handler` for these keys (KeyboardEvent.key values) when a shortcut is allowed. */
export function useShortcut(keys: string[], handler: (e: KeyboardEvent) => void, enabled = true) {
  const ref = useRef(handler)
  ref.current = handler
  const list = keys.join('\u0000')
  useEffect(() => {
    if (!enabled) return
    const wanted = new Set(list.split('\u0000'))
    const onKey = (e: KeyboardEvent) => {
      if (!wanted.has(e.key) || !shortcutAllowed(e)) return
      e.preventDefault()
      taken.add(e)
      ref.current(e)
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [list, enabled])
}
