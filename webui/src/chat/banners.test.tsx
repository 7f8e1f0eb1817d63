import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ChatBanners } from './ChatBanners'
import { type ChatState, initialChatState } from './protocol'

const quota = (retryAfter: number): ChatState => ({
  ...initialChatState,
  activeThreadId: 'thr_1',
  error: { code: 'quota', message: "Gemini's quota … Try again in 3 seconds.", allowRetry: true, retryAfter },
})
const noop = () => {}

beforeEach(() => vi.useFakeTimers())
afterEach(() => {
  cleanup()
  vi.useRealTimers()
})

describe('error banners', () => {
  it('counts a quota wait down and retries once at 0', () => {
    const onRetry = vi.fn()
    render(<ChatBanners state={quota(3)} onRetry={onRetry} onRegenerate={noop} onDismissNotice={noop} onDismissError={noop} />)
    expect(screen.getByTestId('quota-countdown').textContent).toBe('Trying again in 3 s…')
    act(() => void vi.advanceTimersByTime(1100))
    expect(screen.getByTestId('quota-countdown').textContent).toBe('Trying again in 2 s…')
    expect(onRetry).not.toHaveBeenCalled()
    act(() => void vi.advanceTimersByTime(2500))
    expect(onRetry).toHaveBeenCalledTimes(1)
    act(() => void vi.advanceTimersByTime(5000))
    expect(onRetry).toHaveBeenCalledTimes(1) // once, not on every tick
  })

  it('after "Don\'t retry" waits for the countdown before Retry can be pressed', () => {
    const onRetry = vi.fn()
    render(<ChatBanners state={quota(2)} onRetry={onRetry} onRegenerate={noop} onDismissNotice={noop} onDismissError={noop} />)
    fireEvent.click(screen.getByTestId('quota-cancel'))
    const retry = screen.getByTestId('retry-button') as HTMLButtonElement
    expect(retry.disabled).toBe(true)
    expect(retry.textContent).toContain('Retry in 2 s')
    act(() => void vi.advanceTimersByTime(2500))
    expect(onRetry).not.toHaveBeenCalled()
    expect(retry.disabled).toBe(false)
    fireEvent.click(retry)
    expect(onRetry).toHaveBeenCalledTimes(1)
  })

  it('offers "Open key settings", then one-click resend once a key is saved', () => {
    const onRetry = vi.fn()
    const onOpenSettings = vi.fn()
    const state: ChatState = { ...initialChatState, error: { code: 'no_api_key', message: 'Add your Gemini API key in Settings to start chatting.', allowRetry: false } }
    const { rerender } = render(<ChatBanners state={state} onRetry={onRetry} onRegenerate={noop} onOpenSettings={onOpenSettings} onDismissNotice={noop} onDismissError={noop} />)
    fireEvent.click(screen.getByTestId('open-key-settings'))
    expect(onOpenSettings).toHaveBeenCalledTimes(1)
    rerender(<ChatBanners state={state} onRetry={onRetry} onRegenerate={noop} onOpenSettings={onOpenSettings} keySaved onDismissNotice={noop} onDismissError={noop} />)
    expect(screen.getByTestId('chat-error').textContent).toContain('Your key is saved. Send your message again?')
    fireEvent.click(screen.getByTestId('resend-button'))
    expect(onRetry).toHaveBeenCalledTimes(1)
  })

  it('resends by itself when the browser is back online', () => {
    const onRetry = vi.fn()
    const state: ChatState = { ...initialChatState, error: { code: 'offline', message: 'You are offline', allowRetry: true } }
    render(<ChatBanners state={state} onRetry={onRetry} onRegenerate={noop} onDismissNotice={noop} onDismissError={noop} />)
    window.dispatchEvent(new Event('online'))
    window.dispatchEvent(new Event('online'))
    expect(onRetry).toHaveBeenCalledTimes(1)
  })
})
