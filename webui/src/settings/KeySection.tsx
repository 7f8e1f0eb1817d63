// Settings → Gemini API key: status, save (keyring or, when there is none, a file), remove.

import { useState } from 'react'
import { api, type Settings } from '../api/client'

const SOURCE_LABEL: Record<string, string> = {
  env: 'from the GEMINI_API_KEY environment variable',
  keyring: 'in the system keyring',
  file: 'in a file in the data folder (unencrypted)',
}

interface Props {
  data: Settings | undefined
  firstRun: boolean
  busy: boolean
  run: (what: () => Promise<unknown>, done: string) => void
}

function keyStatus(data: Settings | undefined): string {
  if (data == null) return 'Checking…'
  const k = data.gemini_key
  if (!k.set) return 'Not set'
  const where = k.source && SOURCE_LABEL[k.source] ? ` (${SOURCE_LABEL[k.source]})` : ''
  return `Set${k.last4 ? `, ends with …${k.last4}` : ''}${where}`
}

export function KeySection({ data, firstRun, busy, run }: Props) {
  const [key, setKey] = useState('')
  const [plaintext, setPlaintext] = useState(false)
  const keyInfo = data?.gemini_key
  const keyring = data?.keyring
  const keyringUnavailable = keyring?.available === false

  return (
    <section className="settings-section" aria-labelledby="key-heading">
      <h3 id="key-heading">Gemini API key</h3>
      {firstRun && !keyInfo?.set && (
        <p className="first-run" data-testid="first-run-hint">
          TaskChat needs a Gemini API key to chat — get one free at{' '}
          <a href="https://aistudio.google.com/apikey" target="_blank" rel="noopener noreferrer">
            Google AI Studio (aistudio.google.com/apikey)
          </a>{' '}
          and paste it below.
        </p>
      )}
      <p className="key-status" data-testid="gemini-key-status">
        {keyStatus(data)}
      </p>
      {keyInfo?.source === 'env' && <p className="muted">The environment variable overrides any stored key.</p>}
      {keyringUnavailable && (
        <p className="warn" data-testid="keyring-message">
          {keyring?.message || 'No system keyring is available on this computer.'}
        </p>
      )}
      <form
        className="key-form"
        onSubmit={(e) => {
          e.preventDefault()
          const k = key.trim()
          if (!k) return
          run(async () => {
            const out = await api.setGeminiKey(k, keyringUnavailable && plaintext)
            setKey('')
            return out
          }, 'Key saved.')
        }}
      >
        <label htmlFor="gemini-key-input">{keyInfo?.set ? 'Replace key' : 'API key'}</label>
        <div className="input-row">
          <input
            id="gemini-key-input"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={key}
            onChange={(e) => setKey(e.target.value)}
            placeholder="Paste your Gemini API key"
            data-testid="gemini-key-input"
          />
          <button type="submit" className="btn btn-primary" disabled={busy || !key.trim() || (keyringUnavailable && !plaintext)} data-testid="gemini-key-save">
            Save key
          </button>
        </div>
        {keyringUnavailable && (
          <label className="inline-check">
            <input type="checkbox" checked={plaintext} onChange={(e) => setPlaintext(e.target.checked)} data-testid="plaintext-checkbox" />
            Store unencrypted in a file in the data folder
          </label>
        )}
      </form>
      {keyInfo?.set && keyInfo.source !== 'env' && (
        <button type="button" className="btn btn-danger-outline" disabled={busy} onClick={() => run(() => api.clearGeminiKey(), 'Key removed.')} data-testid="gemini-key-clear">
          Remove stored key
        </button>
      )}
    </section>
  )
}
