// REST client for the TaskChat local server. Same-origin, cookie session.

import type { components, operations } from './schema'

// REST types come from the server's OpenAPI schema (./schema.d.ts, written by
// scripts/gen_api_types.sh); none are written by hand here.
type Schemas = components['schemas']
type JsonOf<Op extends keyof operations> = operations[Op] extends {
  responses: { 200: { content: { 'application/json': infer T } } }
}
  ? T
  : never

export type Priority = Schemas['Priority']
/** Lists and steps (server app/lists): its list, its parent (null: top-level), its order
 * key among its siblings, and its steps' progress; optional for rows made before lists. */
type ListFields = 'list_id' | 'position' | 'subtasks_total' | 'subtasks_done'
export type Task = Omit<Schemas['TaskPublic'], ListFields> & Partial<Pick<Schemas['TaskPublic'], ListFields>>
export type TaskSource = Schemas['TaskSource']
export type TaskListInfo = Schemas['ListPublic']
export type TaskPage = Omit<Schemas['TaskPage'], 'items'> & { items: Task[] }
export type SearchResult = Schemas['SearchResult']
export type Settings = Schemas['SettingsOut']
export type SettingsUpdate = Schemas['SettingsUpdate']
export type KeySaved = Schemas['KeySavedOut']
export type KeyStatus = Schemas['GeminiKeyOut']
/** Fields a client may write: POST needs a title, the rest has server defaults. */
export type TaskWritable = Pick<Schemas['TaskCreate'], 'title'> & Partial<Omit<Schemas['TaskCreate'], 'title'>>
export type TaskUpdate = Schemas['TaskUpdate']
export type TaskQuery = NonNullable<operations['list_tasks_api_tasks_get']['parameters']['query']>
export type SortKey = NonNullable<TaskQuery['sort']>
export type ImportResult = JsonOf<'import_file_api_import_post'>
export type TaskLinksResult = JsonOf<'thread_task_links_api_threads__thread_id__task_links_get'>
export type ReminderNotice = Schemas['Notice']
export type ReminderNotices = Schemas['NoticePage']

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

type Listener = () => void
const sessionListeners = new Set<Listener>()

/** Subscribe to "session expired" (any API call answered 401). */
export function onSessionExpired(fn: Listener): () => void {
  sessionListeners.add(fn)
  return () => sessionListeners.delete(fn)
}

export function notifySessionExpired(): void {
  for (const fn of sessionListeners) fn()
}

/** Turns a non-OK response into an ApiError, reading `{"error": {code, message}}`. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`
  let message = res.statusText || `Request failed (${res.status})`
  try {
    const text = await res.text()
    if (text) {
      try {
        const body = JSON.parse(text) as unknown
        const err = (body as { error?: unknown })?.error
        if (err && typeof err === 'object') {
          const e = err as { code?: unknown; message?: unknown }
          if (typeof e.code === 'string') code = e.code
          if (typeof e.message === 'string' && e.message) message = e.message
        } else if (typeof (body as { detail?: unknown })?.detail === 'string') {
          message = (body as { detail: string }).detail
        }
      } catch {
        if (text.length < 300) message = text
      }
    }
  } catch {
    /* body unreadable: keep defaults */
  }
  if (res.status === 401) {
    message = 'Session expired — reopen TaskChat from the app/launcher.'
  }
  return new ApiError(res.status, code, message)
}

/** fetch() with same-origin credentials and 401 detection. */
export async function sessionFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(input, { ...init, credentials: 'same-origin' })
  if (res.status === 401) notifySessionExpired()
  return res
}

/** One JSON request with the session; a failure throws ApiError in the server's error shape. */
export async function request<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await sessionFetch(path, {
    ...init,
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw await errorFromResponse(res)
  if (res.status === 204) return undefined as T
  const text = await res.text()
  return (text ? JSON.parse(text) : undefined) as T
}

export function taskQueryString(q: TaskQuery): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue
    p.set(k, String(v))
  }
  const s = p.toString()
  return s ? `?${s}` : ''
}

export const api = {
  listLists: () => request<{ items: TaskListInfo[] }>('GET', '/api/lists'),
  createList: (name: string, fields: Omit<Schemas['ListUpdate'], 'name'> = {}) =>
    request<TaskListInfo>('POST', '/api/lists', { name, ...fields }),
  updateList: (id: string, patch: Schemas['ListUpdate']) =>
    request<TaskListInfo>('PATCH', `/api/lists/${encodeURIComponent(id)}`, patch),
  /** Put a list just before or after another (the order of the list picker). */
  moveList: (id: string, where: Schemas['ListMove']) =>
    request<TaskListInfo>('POST', `/api/lists/${encodeURIComponent(id)}/move`, where),
  /** Its tasks move to the Inbox or are deleted; `change_id` undoes it all. */
  deleteList: (id: string, tasks: 'move_to_inbox' | 'delete_tasks') =>
    request<Schemas['ListDeleteResult']>('DELETE', `/api/lists/${encodeURIComponent(id)}?tasks=${tasks}`),
  undoChange: (changeId: string) => request<unknown>('POST', `/api/tasks/undo/${encodeURIComponent(changeId)}`),
  /** One write: put a task before/after a sibling, in a list or under a parent. */
  moveTask: (id: string, where: { list_id?: string; parent_id?: string | null; after_id?: string; before_id?: string }) =>
    request<Task>('POST', `/api/tasks/${encodeURIComponent(id)}/move`, where),
  listTasks: (q: TaskQuery = {}, signal?: AbortSignal) =>
    request<TaskPage>('GET', `/api/tasks${taskQueryString(q)}`, undefined, { signal }),
  getTask: (id: string) => request<Task>('GET', `/api/tasks/${encodeURIComponent(id)}`),
  createTask: (fields: TaskWritable) => request<Task>('POST', '/api/tasks', fields),
  updateTask: (id: string, patch: TaskUpdate) =>
    request<Task>('PATCH', `/api/tasks/${encodeURIComponent(id)}`, patch),
  deleteTask: (id: string, keepalive = false) =>
    request<unknown>('DELETE', `/api/tasks/${encodeURIComponent(id)}`, undefined, { keepalive }),
  /** `subtasks`: what completing a task with open steps does ('ask' answers 409). */
  completeTask: (id: string, completed: boolean, subtasks?: 'ask' | 'complete' | 'leave') =>
    request<Task>('POST', `/api/tasks/${encodeURIComponent(id)}/complete`, subtasks ? { completed, subtasks } : { completed }),
  /** "Skip this one": a repeating task moves to its next occurrence, not completed. */
  skipTask: (id: string) => request<Task>('POST', `/api/tasks/${encodeURIComponent(id)}/skip`),
  /** Reminders shown since `after`; "toast" ones had no desktop notification service. */
  reminderNotices: (after: number) =>
    request<ReminderNotices>('GET', `/api/reminders/notices?after=${after}`),
  /** The calendar download (VTODOs with due, repeat rule and alarm). */
  exportIcsUrl: '/api/export.ics',

  getSettings: () => request<Settings>('GET', '/api/settings'),
  putSettings: (patch: SettingsUpdate) => request<Settings>('PUT', '/api/settings', patch),
  /** `check`: Gemini is asked first; a rejected or unchecked key is not saved (ApiError
   *  key_rejected / key_not_checked). */
  setGeminiKey: (apiKey: string, allowPlaintextFile: boolean, check = false) =>
    request<KeySaved>('PUT', '/api/settings/gemini-key', {
      api_key: apiKey,
      allow_plaintext_file: allowPlaintextFile,
      check,
    }),
  clearGeminiKey: () => request<unknown>('DELETE', '/api/settings/gemini-key'),
  /** Edit the thread's last user message (then ask again with threads.retry_after_item). */
  editMessage: (threadId: string, itemId: string, text: string) =>
    request<undefined>('PUT', `/api/chat/threads/${encodeURIComponent(threadId)}/items/${encodeURIComponent(itemId)}`, { text }),

  search: (q: string, limit = 20, signal?: AbortSignal) =>
    request<Schemas['SearchResults']>(
      'GET',
      `/api/search?${new URLSearchParams({ q, limit: String(limit) }).toString()}`,
      undefined,
      { signal },
    ),
  threadTaskLinks: (threadId: string) =>
    request<TaskLinksResult>('GET', `/api/threads/${encodeURIComponent(threadId)}/task-links`),
  /** Best effort: the server rehearses a chat turn so the first real one is quick. */
  prepareChat: () => {
    sessionFetch('/api/chat/prepare', { method: 'POST' }).catch(() => undefined)
  },
  exportUrl: '/api/export',
  importData: async (file: Blob) => {
    const res = await sessionFetch('/api/import', {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/octet-stream' },
      body: file,
    })
    if (!res.ok) throw await errorFromResponse(res)
    return (await res.json()) as ImportResult
  },
}

export type Api = typeof api
