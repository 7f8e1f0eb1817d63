import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Settings } from '../api/client'
import { renderWithQuery } from '../test/render'
import { KeyForm } from './KeyForm'

const settings = (available: boolean): Settings => ({
  gemini_key: { set: false, last4: null, source: null },
  keyring: { available, backend: available ? 'secretservice' : 'fail', message: 'No Secret Service keyring is running: DBUS_SESSION_BUS_ADDRESS is unset.' },
  model: 'gemini-flash-latest',
  timezone: '',
  data_dir: '/tmp/d',
  daily_message_cap: 200,
})

let bodies: Record<string, unknown>[]
let answers: Response[]

beforeEach(() => {
  bodies = []
  answers = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
      bodies.push(JSON.parse(String(init?.body)))
      return answers.shift() ?? Response.json({ error: { code: 'x', message: 'unexpected' } }, { status: 500 })
    }),
  )
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const saved = (checked: boolean) =>
  Response.json({ ...settings(false), gemini_key: { set: true, last4: '4321', source: 'file' }, key_check: checked ? { status: 'valid', message: 'Gemini accepted the key.' } : null })

describe('KeyForm', () => {
  it('explains a missing keyring in plain words and asks before using the file', () => {
    renderWithQuery(<KeyForm data={settings(false)} />)
    const box = screen.getByTestId('keyring-message')
    expect(box.querySelector('p')?.textContent).toContain('This computer has no password keyring running')
    expect(box.querySelector('p')?.textContent).not.toContain('DBUS')
    fireEvent.change(screen.getByTestId('gemini-key-input'), { target: { value: 'AIza-1234' } })
    expect((screen.getByTestId('gemini-key-save') as HTMLButtonElement).disabled).toBe(true)
    fireEvent.click(screen.getByTestId('plaintext-checkbox'))
    expect((screen.getByTestId('gemini-key-save') as HTMLButtonElement).disabled).toBe(false)
  })

  it('says why a rejected key was not saved, keeping it to fix', async () => {
    answers.push(Response.json({ error: { code: 'key_rejected', message: 'Google rejected this key: “API key not valid.”' } }, { status: 422 }))
    renderWithQuery(<KeyForm data={settings(true)} />)
    fireEvent.change(screen.getByTestId('gemini-key-input'), { target: { value: 'AIza-bad' } })
    fireEvent.click(screen.getByTestId('gemini-key-save'))
    const outcome = await screen.findByRole('alert')
    expect(outcome.textContent).toBe('Google rejected this key: “API key not valid.” The key was not saved.')
    expect(bodies[0]).toEqual({ api_key: 'AIza-bad', allow_plaintext_file: false, check: true })
    expect((screen.getByTestId('gemini-key-input') as HTMLInputElement).value).toBe('AIza-bad')
  })

  it('offers to save unchecked when Gemini cannot be reached', async () => {
    answers.push(Response.json({ error: { code: 'key_not_checked', message: "Couldn't reach Gemini to check the key." } }, { status: 503 }), saved(false))
    const onSaved = vi.fn()
    renderWithQuery(<KeyForm data={settings(false)} onSaved={onSaved} />)
    fireEvent.change(screen.getByTestId('gemini-key-input'), { target: { value: 'AIza-1234' } })
    fireEvent.click(screen.getByTestId('plaintext-checkbox'))
    fireEvent.click(screen.getByTestId('gemini-key-save'))
    fireEvent.click(await screen.findByTestId('gemini-key-save-unchecked'))
    await waitFor(() => expect(onSaved).toHaveBeenCalledWith(false))
    expect(bodies[1]).toEqual({ api_key: 'AIza-1234', allow_plaintext_file: true, check: false })
    expect(screen.getByTestId('key-outcome').textContent).toContain('Saved — not checked yet.')
  })
})
