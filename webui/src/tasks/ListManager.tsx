// The lists dialog: create, rename, colour, emoji, archive, reorder (↑/↓ or Alt+↑/↓) and
// delete lists. Deleting asks what happens to the list's tasks (to the Inbox, or deleted
// with it); the toast's Undo puts list and tasks back (POST /api/tasks/undo/{change_id}).

import { useQueryClient } from '@tanstack/react-query'
import { type FormEvent, type KeyboardEvent, useRef, useState } from 'react'
import { type TaskListInfo, api } from '../api/client'
import { errorMessage, keys } from '../api/queryClient'
import { IconClose, IconTrash } from '../ui/icons'
import type { Toast } from '../ui/toasts'
import { useDialog } from '../ui/useDialog'
import { UNDO_WINDOW_MS } from './useDeleteWithUndo'

type Push = (t: Omit<Toast, 'id' | 'timeout' | 'kind'> & { timeout?: number; kind?: Toast['kind'] }) => number

/** The colours a list can take (the server takes any #rrggbb; these read well on both themes). */
export const LIST_COLORS: { hex: string; name: string }[] = [
  { hex: '#808080', name: 'Grey' },
  { hex: '#db4035', name: 'Red' },
  { hex: '#ff9933', name: 'Orange' },
  { hex: '#e0b400', name: 'Yellow' },
  { hex: '#299438', name: 'Green' },
  { hex: '#158fad', name: 'Teal' },
  { hex: '#4073ff', name: 'Blue' },
  { hex: '#884dff', name: 'Purple' },
  { hex: '#e05194', name: 'Pink' },
]

interface Props {
  lists: TaskListInfo[]
  onClose: () => void
  onError: (message: string) => void
  push: Push
  /** A list left the picker (deleted or archived): the panel stops filtering by it. */
  onGone: (listId: string) => void
}

export function ListManager({ lists, onClose, onError, push, onGone }: Props) {
  const qc = useQueryClient()
  const ref = useRef<HTMLDivElement>(null)
  const [deleting, setDeleting] = useState<{ list: TaskListInfo; count: number | null } | null>(null)
  const [name, setName] = useState('')
  const [color, setColor] = useState(LIST_COLORS[6].hex)
  const [busy, setBusy] = useState(false)
  // Esc first leaves the delete question, then the dialog.
  const onKeyDown = useDialog(true, ref, () => (deleting ? setDeleting(null) : onClose()))

  const refresh = () => Promise.all([qc.invalidateQueries({ queryKey: keys.lists }), qc.invalidateQueries({ queryKey: keys.tasks })])
  const run = async (fn: () => Promise<unknown>) => {
    try {
      await fn()
      return true
    } catch (e) {
      onError(errorMessage(e))
      return false
    } finally {
      await qc.invalidateQueries({ queryKey: keys.lists })
    }
  }

  const create = async (e: FormEvent) => {
    e.preventDefault()
    const n = name.trim()
    if (!n || busy) return
    setBusy(true)
    if (await run(() => api.createList(n, { color }))) setName('')
    setBusy(false)
  }
  const patch = (l: TaskListInfo, p: Parameters<typeof api.updateList>[1]) => run(() => api.updateList(l.id, p))
  const move = (l: TaskListInfo, dir: -1 | 1) => {
    const i = lists.findIndex((x) => x.id === l.id)
    const other = lists[i + dir]
    if (!other) return
    void run(() => api.moveList(l.id, dir < 0 ? { before_id: other.id } : { after_id: other.id })).then(() =>
      // Keep the keyboard on the list that moved.
      requestAnimationFrame(() => ref.current?.querySelector<HTMLElement>(`[data-list-id="${l.id}"] [data-move="${dir}"]`)?.focus()),
    )
  }
  const askDelete = (l: TaskListInfo) => {
    setDeleting({ list: l, count: null })
    void api.listTasks({ list_id: l.id, limit: 1 }).then(
      (page) => setDeleting((d) => (d && d.list.id === l.id ? { ...d, count: page.total } : d)),
      () => undefined,
    )
  }
  const remove = async (mode: 'move_to_inbox' | 'delete_tasks') => {
    if (!deleting) return
    const l = deleting.list
    try {
      const result = await api.deleteList(l.id, mode)
      onGone(l.id)
      onClose()
      const n = mode === 'delete_tasks' ? result.tasks_deleted : result.tasks_moved
      const what = n === 0 ? '' : mode === 'delete_tasks' ? ` and its ${n} task${n === 1 ? '' : 's'}` : `; ${n} task${n === 1 ? '' : 's'} moved to Inbox`
      const changeId = result.change_id
      push({
        message: `Deleted “${l.name}”${what}`,
        actionLabel: changeId ? 'Undo' : undefined,
        timeout: UNDO_WINDOW_MS,
        onAction: changeId ? () => void api.undoChange(changeId).then(refresh, (e: unknown) => onError(errorMessage(e))) : undefined,
      })
    } catch (e) {
      onError(errorMessage(e))
    } finally {
      await refresh()
    }
  }

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal list-manager" role="dialog" aria-modal="true" aria-labelledby="lists-title" ref={ref} onKeyDown={onKeyDown} data-testid="list-manager">
        <header className="modal-head">
          <h2 id="lists-title">{deleting ? `Delete “${deleting.list.name}”?` : 'Lists'}</h2>
          <button type="button" className="icon-btn" aria-label="Close lists" onClick={onClose}>
            <IconClose />
          </button>
        </header>
        {deleting ? (
          <div className="list-delete" data-testid="list-delete">
            <p>
              {deleting.count === null
                ? 'What should happen to its tasks?'
                : deleting.count === 0
                  ? 'It has no tasks.'
                  : `It has ${deleting.count} task${deleting.count === 1 ? '' : 's'}. What should happen to ${deleting.count === 1 ? 'it' : 'them'}?`}
            </p>
            <div className="modal-foot choice-foot">
              <button type="button" className="btn btn-primary" onClick={() => void remove('move_to_inbox')} data-testid="list-delete-move">
                {deleting.count === 1 ? 'Move it to Inbox' : 'Move them to Inbox'}
              </button>
              <button type="button" className="btn btn-danger-outline" onClick={() => void remove('delete_tasks')} data-testid="list-delete-tasks">
                {deleting.count === 1 ? 'Delete it too' : 'Delete them too'}
              </button>
              <button type="button" className="btn" onClick={() => setDeleting(null)} data-testid="list-delete-cancel">
                Cancel
              </button>
            </div>
          </div>
        ) : (
          <>
            <form className="list-new" onSubmit={(e) => void create(e)}>
              <label htmlFor="list-new-name" className="sr-only">
                New list name
              </label>
              <input id="list-new-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="New list" maxLength={100} data-testid="list-new-name" />
              <label htmlFor="list-new-color" className="sr-only">
                Colour of the new list
              </label>
              <ColorSelect id="list-new-color" value={color} onChange={setColor} testId="list-new-color" />
              <button type="submit" className="btn btn-primary" disabled={!name.trim() || busy} data-testid="list-new-add">
                Add
              </button>
            </form>
            <ul className="list-rows" aria-label="Your lists (Alt+↑/↓ to reorder)">
              {lists.map((l, i) => (
                <ListRow
                  key={`${l.id}:${l.updated_at}`}
                  list={l}
                  first={i === 0}
                  last={i === lists.length - 1}
                  onPatch={(p) => void patch(l, p)}
                  onMove={(dir) => move(l, dir)}
                  onArchive={() => {
                    void patch(l, { archived: !l.archived })
                    if (!l.archived) onGone(l.id)
                  }}
                  onDelete={() => askDelete(l)}
                />
              ))}
            </ul>
          </>
        )}
      </div>
    </div>
  )
}

function ColorSelect({ id, value, onChange, testId }: { id: string; value: string; onChange: (hex: string) => void; testId: string }) {
  const known = LIST_COLORS.some((c) => c.hex === value.toLowerCase())
  return (
    <span className="color-select">
      <span className="list-dot" style={{ background: value }} aria-hidden="true" />
      <select id={id} value={value.toLowerCase()} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        {!known && <option value={value.toLowerCase()}>{value}</option>}
        {LIST_COLORS.map((c) => (
          <option key={c.hex} value={c.hex}>
            {c.name}
          </option>
        ))}
      </select>
    </span>
  )
}

interface RowProps {
  list: TaskListInfo
  first: boolean
  last: boolean
  onPatch: (p: Parameters<typeof api.updateList>[1]) => void
  onMove: (dir: -1 | 1) => void
  onArchive: () => void
  onDelete: () => void
}

function ListRow({ list, first, last, onPatch, onMove, onArchive, onDelete }: RowProps) {
  // Keyed by updated_at: a saved change (or a refused one, refetched) resets these.
  const [name, setName] = useState(list.name)
  const [emoji, setEmoji] = useState(list.emoji ?? '')
  const inbox = list.is_inbox
  const saveName = () => {
    const n = name.trim()
    if (n && n !== list.name) onPatch({ name: n })
    else setName(list.name)
  }
  const saveEmoji = () => {
    const e = emoji.trim()
    if (e !== (list.emoji ?? '')) onPatch({ emoji: e || null })
  }
  const onKey = (save: () => void, reset: () => void) => (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault()
      save()
    } else if (e.key === 'Escape' && e.currentTarget.dataset.dirty === 'true') {
      // Esc first drops the edit, then (pressed again) closes the dialog.
      e.preventDefault()
      reset()
    }
  }
  return (
    <li
      className={`list-row${list.archived ? ' archived' : ''}`}
      data-testid="list-row"
      data-list-id={list.id}
      onKeyDown={(e) => {
        if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
          e.preventDefault()
          onMove(e.key === 'ArrowUp' ? -1 : 1)
        }
      }}
    >
      <label htmlFor={`list-color-${list.id}`} className="sr-only">
        Colour of {list.name}
      </label>
      <ColorSelect id={`list-color-${list.id}`} value={list.color} onChange={(hex) => onPatch({ color: hex })} testId="list-color" />
      <label htmlFor={`list-emoji-${list.id}`} className="sr-only">
        Emoji for {list.name}
      </label>
      <input
        id={`list-emoji-${list.id}`}
        className="list-emoji"
        value={emoji}
        placeholder="☺"
        maxLength={8}
        onChange={(e) => setEmoji(e.target.value)}
        onBlur={saveEmoji}
        data-dirty={emoji !== (list.emoji ?? '')}
        onKeyDown={onKey(saveEmoji, () => setEmoji(list.emoji ?? ''))}
        data-testid="list-emoji"
      />
      {inbox ? (
        <span className="list-name inbox">{list.name}</span>
      ) : (
        <>
          <label htmlFor={`list-name-${list.id}`} className="sr-only">
            Name of {list.name}
          </label>
          <input
            id={`list-name-${list.id}`}
            className="list-name"
            value={name}
            maxLength={100}
            onChange={(e) => setName(e.target.value)}
            onBlur={saveName}
            data-dirty={name !== list.name}
            onKeyDown={onKey(saveName, () => setName(list.name))}
            data-testid="list-name"
          />
        </>
      )}
      {list.archived && <span className="chip">archived</span>}
      <span className="list-actions">
        <button type="button" className="icon-btn small" aria-label={`Move ${list.name} up`} disabled={first} onClick={() => onMove(-1)} data-move="-1" data-testid="list-up">
          ↑
        </button>
        <button type="button" className="icon-btn small" aria-label={`Move ${list.name} down`} disabled={last} onClick={() => onMove(1)} data-move="1" data-testid="list-down">
          ↓
        </button>
        {!inbox && (
          <>
            <button type="button" className="btn btn-small" onClick={onArchive} data-testid="list-archive">
              {list.archived ? 'Unarchive' : 'Archive'}
            </button>
            <button type="button" className="icon-btn small" aria-label={`Delete ${list.name}`} onClick={onDelete} data-testid="list-delete-button">
              <IconTrash />
            </button>
          </>
        )}
      </span>
    </li>
  )
}
