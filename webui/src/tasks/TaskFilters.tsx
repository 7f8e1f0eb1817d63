// The panel's views (status tabs) and filters (priority, tag, sort). New views are one
// more entry in VIEWS.

import type { Priority, TaskListInfo } from '../api/client'
import type { SortKey, StatusFilter, TaskFilter } from './state'

export const VIEWS: { key: StatusFilter; label: string }[] = [
  { key: 'open', label: 'Open' },
  { key: 'today', label: 'Today' },
  { key: 'upcoming', label: 'Upcoming' },
  { key: 'due_soon', label: 'Due soon' },
  { key: 'done', label: 'Done' },
  { key: 'all', label: 'All' },
]

const PRIORITIES: Priority[] = ['high', 'medium', 'low', 'none']

const SORTS: { key: SortKey; label: string }[] = [
  { key: 'smart', label: 'Sort: smart' },
  { key: 'due', label: 'Sort: due date' },
  { key: 'priority', label: 'Sort: priority' },
  { key: 'created', label: 'Sort: newest' },
  { key: 'title', label: 'Sort: title' },
  { key: 'position', label: 'Sort: my order' },
]

interface Props {
  filter: TaskFilter
  tags: string[]
  onChange: (patch: Partial<TaskFilter>) => void
  /** The person's lists (app/lists), for the list filter. */
  lists?: TaskListInfo[]
  /** Opens the lists dialog (create, rename, reorder, delete). */
  onManageLists?: () => void
}

export function TaskViews({ filter, onChange }: Pick<Props, 'filter' | 'onChange'>) {
  return (
    <div className="segmented" role="tablist" aria-label="Show tasks">
      {VIEWS.map((t) => (
        <button
          key={t.key}
          type="button"
          role="tab"
          aria-selected={filter.status === t.key}
          className={filter.status === t.key ? 'on' : ''}
          onClick={() => onChange({ status: t.key })}
          data-testid={`filter-${t.key}`}
        >
          {t.label}
        </button>
      ))}
    </div>
  )
}

export function TaskFilters({ filter, tags, onChange, lists = [], onManageLists }: Props) {
  return (
    <div className="filter-row">
      <label className="sr-only" htmlFor="filter-list">
        List
      </label>
      <select id="filter-list" value={filter.list ?? ''} onChange={(e) => onChange({ list: e.target.value })} data-testid="filter-list">
        <option value="">All lists</option>
        {lists
          .filter((l) => !l.archived)
          .map((l) => (
            <option key={l.id} value={l.id}>
              {l.emoji ? `${l.emoji} ${l.name}` : l.name}
            </option>
          ))}
      </select>
      {onManageLists && (
        <button type="button" className="btn btn-small manage-lists" onClick={onManageLists} aria-haspopup="dialog" data-testid="manage-lists">
          Lists…
        </button>
      )}
      <label className="sr-only" htmlFor="filter-priority">
        Priority
      </label>
      <select id="filter-priority" value={filter.priority} onChange={(e) => onChange({ priority: e.target.value as Priority | '' })} data-testid="filter-priority">
        <option value="">Any priority</option>
        {PRIORITIES.map((p) => (
          <option key={p} value={p}>
            {p === 'none' ? 'No priority' : `${p[0].toUpperCase()}${p.slice(1)}`}
          </option>
        ))}
      </select>
      <label className="sr-only" htmlFor="filter-tag">
        Tag
      </label>
      <select id="filter-tag" value={filter.tag} onChange={(e) => onChange({ tag: e.target.value })} data-testid="filter-tag">
        <option value="">Any tag</option>
        {tags.map((t) => (
          <option key={t} value={t}>
            #{t}
          </option>
        ))}
      </select>
      <label className="sr-only" htmlFor="task-sort">
        Sort by
      </label>
      <select id="task-sort" value={filter.sort} onChange={(e) => onChange({ sort: e.target.value as SortKey })} data-testid="task-sort">
        {SORTS.map((s) => (
          <option key={s.key} value={s.key}>
            {s.label}
          </option>
        ))}
      </select>
    </div>
  )
}
