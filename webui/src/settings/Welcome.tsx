// First run: one focused step — what a key is, where to get one, paste, check, save — then
// straight to the first chat (its start screen has example prompts).

import { useRef } from 'react'
import { IconClose } from '../ui/icons'
import { useDialog } from '../ui/useDialog'
import { KeyForm } from './KeyForm'
import { useSettings } from './useSettings'

interface Props {
  open: boolean
  onClose: () => void
}

export default function Welcome({ open, onClose }: Props) {
  const ref = useRef<HTMLDivElement>(null)
  const onKeyDown = useDialog(open, ref, onClose)
  const settings = useSettings()
  if (!open) return null
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal welcome" role="dialog" aria-modal="true" aria-labelledby="welcome-title" aria-describedby="welcome-what" ref={ref} onKeyDown={onKeyDown} data-testid="welcome-dialog">
        <header className="modal-head">
          <h2 id="welcome-title">Welcome to TaskChat</h2>
          <button type="button" className="icon-btn" aria-label="Set up later" onClick={onClose} data-testid="welcome-close">
            <IconClose />
          </button>
        </header>
        <p id="welcome-what">
          TaskChat manages your tasks by chatting with Google&apos;s Gemini. To talk to Gemini it needs an <strong>API key</strong>: a
          long code, like a password, that lets TaskChat use Gemini for you.
        </p>
        <ol className="welcome-steps">
          <li>
            Get a free key at{' '}
            <a href="https://aistudio.google.com/apikey" target="_blank" rel="noopener noreferrer" data-testid="welcome-key-link">
              Google AI Studio (aistudio.google.com/apikey)
            </a>{' '}
            — sign in, press <em>Create API key</em>, copy it.
          </li>
          <li>Paste it below. TaskChat checks it with Gemini, then saves it — in your system keyring when there is one, never in its own database.</li>
        </ol>
        <KeyForm data={settings.data} onSaved={() => setTimeout(onClose, 900)} />
        <p className="muted welcome-later">You can change the key any time in Settings.</p>
      </div>
    </div>
  )
}
