import { act, cleanup, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import ChatKitView from './ChatKitView'
import { PREPARE_AGAIN_MS } from './prepare'

// ChatKit's web component comes from OpenAI's CDN, which tests cannot load; what this view
// adds around it is tested against a stand-in that, like the real one, puts the
// conversation and its composer in a frame of their own.
vi.mock('@openai/chatkit-react', () => ({
  useChatKit: () => ({ control: {} }),
  ChatKit: () => <iframe data-testid="chatkit-frame" title="TaskChat conversation" />,
}))

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
  vi.restoreAllMocks()
})

function stubFetch(): () => string[] {
  const urls: string[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      urls.push(`${init?.method ?? 'GET'} ${String(input)}`)
      return Response.json({ status: 'running' }, { status: 202 })
    }),
  )
  return () => urls.filter((u) => u === 'POST /api/chat/prepare')
}

/** What the browser does when the person clicks into the frame: the frame becomes the
 * page's active element and the page's window loses focus. */
function focusMovesInto(el: HTMLElement) {
  act(() => {
    el.focus()
    window.dispatchEvent(new Event('blur'))
  })
}

describe('ChatKitView', () => {
  it('asks the server to prepare a chat turn when focus moves into the frame, at most every 30 s', () => {
    const prepares = stubFetch()
    const now = vi.spyOn(Date, 'now').mockReturnValue(1_000_000)
    render(<ChatKitView colorScheme="light" onTasksChanged={() => {}} onFailed={() => {}} />)
    expect(prepares()).toHaveLength(0)
    const frame = screen.getByTestId('chatkit-frame')
    focusMovesInto(frame)
    expect(prepares()).toHaveLength(1)
    // Back to the page and into the frame again soon after: no second request.
    act(() => frame.blur())
    now.mockReturnValue(1_000_000 + PREPARE_AGAIN_MS - 1)
    focusMovesInto(frame)
    expect(prepares()).toHaveLength(1)
    // A while later (the next message, maybe after a pause): asked again.
    act(() => frame.blur())
    now.mockReturnValue(1_000_000 + PREPARE_AGAIN_MS)
    focusMovesInto(frame)
    expect(prepares()).toHaveLength(2)
  })

  it('does not prepare when the window loses focus to something else', () => {
    const prepares = stubFetch()
    render(
      <>
        <ChatKitView colorScheme="light" onTasksChanged={() => {}} onFailed={() => {}} />
        <input data-testid="elsewhere" />
      </>,
    )
    // Another app, or a field outside the chat: the page's active element is not the frame.
    act(() => {
      window.dispatchEvent(new Event('blur'))
    })
    focusMovesInto(screen.getByTestId('elsewhere'))
    expect(prepares()).toHaveLength(0)
    // The listener is still waiting for the real thing.
    focusMovesInto(screen.getByTestId('chatkit-frame'))
    expect(prepares()).toHaveLength(1)
  })
})
