// A file dropped on the window: unless a page cancels the drop, the web view opens the file
// in place of the app (the platform's default for a drop nobody took), and the window has no
// way back. TaskChat takes no files by drop, so every file drag is refused (the pointer shows
// "no drop"); dragging tasks and text is left alone.
import { useEffect } from 'react'

export function refuseFileDrop(e: DragEvent): void {
  if (!e.dataTransfer || !Array.from(e.dataTransfer.types).includes('Files')) return
  e.preventDefault()
  e.dataTransfer.dropEffect = 'none'
}

export function useFileDropGuard(): void {
  useEffect(() => {
    window.addEventListener('dragover', refuseFileDrop)
    window.addEventListener('drop', refuseFileDrop)
    return () => {
      window.removeEventListener('dragover', refuseFileDrop)
      window.removeEventListener('drop', refuseFileDrop)
    }
  }, [])
}
