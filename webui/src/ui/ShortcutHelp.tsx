// The `?` dialog: every keyboard shortcut (also opened from the header's ? button).

import { useRef } from 'react'
import { IconClose } from './icons'
import { SHORTCUTS } from './shortcuts'
import { useDialog } from './useDialog'

export function ShortcutHelp({ open, onClose }: { open: boolean; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null)
  const onKeyDown = useDialog(open, ref, onClose)
  if (!open) return null
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal shortcut-help" role="dialog" aria-modal="true" aria-labelledby="shortcuts-title" ref={ref} onKeyDown={onKeyDown} data-testid="shortcut-help">
        <header className="modal-head">
          <h2 id="shortcuts-title">Keyboard shortcuts</h2>
          <button type="button" className="icon-btn" aria-label="Close shortcuts" onClick={onClose}>
            <IconClose />
          </button>
        </header>
        <p className="muted">Single keys work whenever you are not typing in a field. The task list is one Tab stop: move inside it with j/k or the arrows.</p>
        <dl className="shortcut-list">
          {SHORTCUTS.map((s) => (
            <div key={s.what} className="shortcut-row">
              <dt>
                {s.keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 && ' or '}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </dt>
              <dd>{s.what}</dd>
            </div>
          ))}
        </dl>
      </div>
    </div>
  )
}
