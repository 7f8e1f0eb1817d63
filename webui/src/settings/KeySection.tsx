// Settings → Gemini API key: status, check and save (keyring or, when there is none, a
// file the person chose), remove.

import { api, type Settings } from '../api/client'
import { KeyForm } from './KeyForm'

const SOURCE_LABEL: Record<string, string> = {
  env: 'from the GEMINI_API_KEY environment variable',
  keyring: 'in the system keyring',
  file: 'in a file in the data folder (unencrypted)',
}

interface Props {
  data: Settings | undefined
  busy: boolean
  run: (what: () => Promise<unknown>, done: string) => void
  /** A new key was saved (the chat may offer to resend a waiting message). */
  onKeySaved?: () => void
}

function keyStatus(data: Settings | undefined): string {
  if (data == null) return 'Checking…'
  const k = data.gemini_key
  if (!k.set) return 'Not set'
  const where = k.source && SOURCE_LABEL[k.source] ? ` (${SOURCE_LABEL[k.source]})` : ''
  return `Set${k.last4 ? `, ends with …${k.last4}` : ''}${where}`
}

export function KeySection({ data, busy, run, onKeySaved }: Props) {
  const keyInfo = data?.gemini_key
  return (
    <section className="settings-section" aria-labelledby="key-heading">
      <h3 id="key-heading">Gemini API key</h3>
      <p className="key-status" data-testid="gemini-key-status">
        {keyStatus(data)}
      </p>
      {keyInfo?.source === 'env' && <p className="muted">The environment variable overrides any stored key.</p>}
      {!keyInfo?.set && (
        <p className="muted">
          Get a free key at{' '}
          <a href="https://aistudio.google.com/apikey" target="_blank" rel="noopener noreferrer">
            Google AI Studio
          </a>
          .
        </p>
      )}
      <KeyForm data={data} onSaved={onKeySaved} />
      {keyInfo?.set && keyInfo.source !== 'env' && (
        <button type="button" className="btn btn-danger-outline" disabled={busy} onClick={() => run(() => api.clearGeminiKey(), 'Key removed.')} data-testid="gemini-key-clear">
          Remove stored key
        </button>
      )}
    </section>
  )
}
