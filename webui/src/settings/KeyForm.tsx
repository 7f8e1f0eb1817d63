// Paste a Gemini key, check it with Gemini, save it: the first-run step and Settings share
// this form. Three outcomes are said plainly: accepted (saved), rejected by Google (not
// saved, with Google's reason), Gemini unreachable (not saved; "Save anyway" saves it
// marked "not checked yet"). Without a keyring the person chooses the file explicitly.

import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { ApiError, api, type KeySaved, type Settings } from '../api/client'
import { errorMessage, keys } from '../api/queryClient'

/** Fired on window when a key was saved. */
export const KEY_SAVED_EVENT = 'taskchat:key-saved'

interface Props {
  data: Settings | undefined
  /** After the key was saved (checked or not). */
  onSaved?: (checked: boolean) => void
  submitLabel?: string
}

type Outcome =
  | { kind: 'saved'; checked: boolean; message: string }
  | { kind: 'rejected'; message: string }
  | { kind: 'unchecked'; message: string }
  | { kind: 'error'; message: string }

export function KeyringChoice({ data, plaintext, onPlaintext }: { data: Settings | undefined; plaintext: boolean; onPlaintext: (v: boolean) => void }) {
  const id = useId()
  const keyring = data?.keyring
  if (keyring?.available !== false) return null
  return (
    <div className="keyring-choice" data-testid="keyring-message">
      <p>
        <strong>This computer has no password keyring running</strong> (such as GNOME Keyring or KWallet), so TaskChat cannot
        keep your key encrypted.
      </p>
      <label className="inline-check" htmlFor={`${id}-file`}>
        <input id={`${id}-file`} type="checkbox" checked={plaintext} onChange={(e) => onPlaintext(e.target.checked)} data-testid="plaintext-checkbox" />
        <span>
          Keep the key in a file in TaskChat&apos;s data folder instead — only your user account can open it, but it is not
          encrypted.
        </span>
      </label>
      <details className="muted keyring-detail">
        <summary>Technical details</summary>
        {keyring.message}
      </details>
    </div>
  )
}

export function KeyForm({ data, onSaved, submitLabel = 'Check and save' }: Props) {
  const qc = useQueryClient()
  const [key, setKey] = useState('')
  const [plaintext, setPlaintext] = useState(false)
  const [outcome, setOutcome] = useState<Outcome | null>(null)
  const keyInfo = data?.gemini_key
  const needsChoice = data?.keyring.available === false && !plaintext
  const save = useMutation({
    mutationFn: ({ value, check }: { value: string; check: boolean }) => api.setGeminiKey(value, data?.keyring.available === false && plaintext, check),
    onSuccess: (out: KeySaved, { check }) => {
      qc.setQueryData<Settings>(keys.settings, out)
      void qc.invalidateQueries({ queryKey: keys.settings })
      setKey('')
      setOutcome(
        check
          ? { kind: 'saved', checked: true, message: `${out.key_check?.message ?? 'Gemini accepted the key.'} Saved.` }
          : { kind: 'saved', checked: false, message: 'Saved — not checked yet. TaskChat will try it with your next message.' },
      )
      // The chat offers to resend a message that failed for want of a key.
      window.dispatchEvent(new CustomEvent(KEY_SAVED_EVENT))
      onSaved?.(check)
    },
    onError: (e) => {
      const code = e instanceof ApiError ? e.code : ''
      if (code === 'key_rejected') setOutcome({ kind: 'rejected', message: `${errorMessage(e)} The key was not saved.` })
      else if (code === 'key_not_checked') setOutcome({ kind: 'unchecked', message: errorMessage(e) })
      else setOutcome({ kind: 'error', message: errorMessage(e) })
    },
  })
  const submit = (check: boolean) => {
    const value = key.trim()
    if (!value || save.isPending) return
    setOutcome(null)
    save.mutate({ value, check })
  }
  const hintId = useId()

  return (
    <form
      className="key-form"
      onSubmit={(e) => {
        e.preventDefault()
        submit(true)
      }}
    >
      <label htmlFor="gemini-key-input">{keyInfo?.set ? 'Replace key' : 'Your Gemini API key'}</label>
      <input
        id="gemini-key-input"
        type="password"
        autoComplete="off"
        spellCheck={false}
        value={key}
        onChange={(e) => {
          setKey(e.target.value)
          if (outcome && outcome.kind !== 'saved') setOutcome(null)
        }}
        placeholder="Paste the key (it starts with AIza…)"
        aria-describedby={needsChoice ? hintId : undefined}
        data-testid="gemini-key-input"
      />
      {(key.trim() || !keyInfo?.set) && <KeyringChoice data={data} plaintext={plaintext} onPlaintext={setPlaintext} />}
      <div className="key-actions">
        <button type="submit" className="btn btn-primary" disabled={save.isPending || !key.trim() || needsChoice} data-testid="gemini-key-save">
          {save.isPending && save.variables?.check ? 'Checking with Gemini…' : submitLabel}
        </button>
        {needsChoice && key.trim() && (
          <span id={hintId} className="muted">
            Tick the box above to keep the key in a file.
          </span>
        )}
      </div>
      <div aria-live="polite" data-testid="key-outcome" data-kind={outcome?.kind ?? ''}>
        {outcome?.kind === 'saved' && <p className="form-ok">{outcome.message}</p>}
        {outcome && outcome.kind !== 'saved' && (
          <div className={outcome.kind === 'unchecked' ? 'warn key-outcome' : 'form-error key-outcome'} role="alert">
            <p>{outcome.message}</p>
            {outcome.kind === 'unchecked' && (
              <button type="button" className="btn btn-small" onClick={() => submit(false)} disabled={save.isPending} data-testid="gemini-key-save-unchecked">
                Save anyway (not checked yet)
              </button>
            )}
          </div>
        )}
      </div>
    </form>
  )
}
