// A file or a link dropped on the window: unless a page cancels the drop, the web view opens
// it in place of the app (the platform's default for a drop nobody took: a file is a file://
// link), and the window has no way back. TaskChat takes no files by drop, so every file drag
// is refused (the pointer shows "no drop"); a link is refused too, except over a text field,
// which takes it as text. Dragging tasks and plain text is left alone.
import { useEffect } from 'react'

// Fields that take a dropped link as its text (a checkbox or a button would not).
const TEXT_FIELD = [
  'textarea',
  'input:not([type])',
  ...['text', 'search', 'url', 'email'].map((t) => `input[type="${t}"]`),
  '[contenteditable]:not([contenteditable="false"])',
].join(', ')

function overTextField(target: EventTarget | null): boolean {
  const field = target instanceof Element ? target.closest(TEXT_FIELD) : null
  return field !== null && !field.matches(':disabled, [readonly]')
}

export function refuseNavigatingDrop(e: DragEvent): void {
  if (!e.dataTransfer) return
  const types = Array.from(e.dataTransfer.types)
  const file = types.includes('Files')
  const link = types.includes('text/uri-list')
  if (!file && !(link && !overTextField(e.target))) return
  e.preventDefault()
  e.dataTransfer.dropEffect = 'none'
}

export function useDropGuard(): void {
  useEffect(() => {
    window.addEventListener('dragover', refuseNavigatingDrop)
    window.addEventListener('drop', refuseNavigatingDrop)
    return () => {
      window.removeEventListener('dragover', refuseNavigatingDrop)
      window.removeEventListener('drop', refuseNavigatingDrop)
    }
  }, [])
}
