import { cleanup, render, renderHook } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { useDropGuard } from './useDropGuard'

function drag(type: string, types: string[]): { event: Event; data: { types: string[]; dropEffect: string } } {
  const event = new Event(type, { bubbles: true, cancelable: true })
  const data = { types, dropEffect: 'copy' }
  Object.defineProperty(event, 'dataTransfer', { value: data })
  return { event, data }
}

function refused(target: Element, types: string[]): boolean {
  const results = ['dragover', 'drop'].map((type) => {
    const { event, data } = drag(type, types)
    target.dispatchEvent(event)
    expect(data.dropEffect === 'none').toBe(event.defaultPrevented)
    return event.defaultPrevented
  })
  expect(results[0]).toBe(results[1])
  return results[0]
}

const LINK = ['text/uri-list', 'text/plain']

describe('useDropGuard', () => {
  afterEach(cleanup)

  it('refuses files dragged over or dropped anywhere on the window', () => {
    const { unmount } = renderHook(() => useDropGuard())
    const { getByRole } = render(<textarea aria-label="composer" />)
    expect(refused(document.body, ['Files'])).toBe(true)
    expect(refused(getByRole('textbox'), ['Files'])).toBe(true)
    unmount()
    expect(refused(document.body, ['Files'])).toBe(false) // the listener went with the component
  })

  it('refuses a link except over a field that takes it as text', () => {
    renderHook(() => useDropGuard())
    const { getByLabelText } = render(
      <div>
        <p aria-label="panel">tasks</p>
        <textarea aria-label="composer" />
        <input aria-label="search" type="search" />
        <input aria-label="title" />
        <input aria-label="done" type="checkbox" />
        <input aria-label="locked" readOnly />
        <div aria-label="editor" contentEditable suppressContentEditableWarning>
          <span aria-label="word">hi</span>
        </div>
      </div>,
    )
    for (const label of ['panel', 'done', 'locked']) expect(refused(getByLabelText(label), LINK)).toBe(true)
    for (const label of ['composer', 'search', 'title', 'word']) expect(refused(getByLabelText(label), LINK)).toBe(false)
  })

  it('leaves task and text drags to their own handlers', () => {
    renderHook(() => useDropGuard())
    for (const types of [['application/x-taskchat-task'], ['text/plain']]) {
      expect(refused(document.body, types)).toBe(false)
    }
  })
})
