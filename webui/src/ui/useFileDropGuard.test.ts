import { renderHook } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { useFileDropGuard } from './useFileDropGuard'

function drag(type: string, types: string[]): { event: Event; data: { types: string[]; dropEffect: string } } {
  const event = new Event(type, { bubbles: true, cancelable: true })
  const data = { types, dropEffect: 'copy' }
  Object.defineProperty(event, 'dataTransfer', { value: data })
  return { event, data }
}

describe('useFileDropGuard', () => {
  it('refuses files dragged over or dropped anywhere on the window', () => {
    const { unmount } = renderHook(() => useFileDropGuard())
    for (const type of ['dragover', 'drop']) {
      const { event, data } = drag(type, ['Files'])
      document.body.dispatchEvent(event)
      expect(event.defaultPrevented).toBe(true)
      expect(data.dropEffect).toBe('none')
    }
    unmount()
    const { event } = drag('drop', ['Files'])
    document.body.dispatchEvent(event)
    expect(event.defaultPrevented).toBe(false) // the listener went with the component
  })

  it('leaves task and text drags to their own handlers', () => {
    renderHook(() => useFileDropGuard())
    for (const types of [['application/x-taskchat-task'], ['text/plain']]) {
      const { event, data } = drag('dragover', types)
      document.body.dispatchEvent(event)
      expect(event.defaultPrevented).toBe(false)
      expect(data.dropEffect).toBe('copy')
    }
  })
})
