// REST client for the TaskChat local server. Same-origin, cookie session.

export type Priority = 'none' | 'low' | 'medium' | 'high'

export interface Task {
  id: string
  title: string
  description: string
  completed: boolean
  completed_at: string | null
  priority: Priority
  due: string | null
  tags: string[]
  created_at: string
  updated_at: string
  /** The chat thread (and message) that last created or changed the task. */
  source?: TaskSource | null
  /** Lists and steps (server app/lists): its list, its parent (null: top-level), its
   * order key among its siblings, and its steps' progress. */
  list_id?: string
  parent_id?: string | null
  position?: string
  subtasks_total?: number
  subtasks_done?: number
}

/** A list (GET /api/lists): the Inbox is always there. */
export interface TaskListInfo {
  id: string
  name: string
  color: string
  emoji: string | null
  archived: boolean
  position: string
  is_inbox: boolean
}

export interface TaskSource {
  thread_id: string
  thread_title: string | null
  item_id: string | null
}

export interface SearchResult {
  kind: 'task' | 'thread' | 'message'
  id: string
  thread_id: string | null
  item_id: string | null
  title: string
  /** Text with <mark>…</mark> around hits: split it, never render it as HTML. */
  snippet: string
  score: number
}

export interface TaskLinkChip {
  item_id: string | null
  task_id: string
  title: string
  action: string
}

/** Fields a client may write (POST body / PATCH subset). */
export interface TaskWritable {
  title: string
  description?: string
  completed?: boolean
  priority?: Priority
  due?: string | null
  tags?: string[]
  /** The list it goes in (the Inbox when left out) and the task it is a step of. */
  list_id?: string | null
  parent_id?: string | null
}

export interface TaskPage {
  items: Task[]
  total: number
}

export interface TaskQuery {
  completed?: boolean
  priority?: Priority
  tag?: string
  due_before?: string
  due_after?: string
  q?: string
  sort?: string
  limit?: number
  offset?: number
  /** A list's tasks; a task's steps ("null": top-level only); Today / Upcoming. */
  list_id?: string
  parent_id?: string
  view?: 'today' | 'upcoming'
}

export interface KeyStatus {
  set: boolean
  last4?: string | null
  source?: 'env' | 'keyring' | 'file' | null | string
}

export interface Settings {
  gemini_key?: KeyStatus
  keyring?: { available?: boolean; backend?: string; message?: string }
  model?: string
  data_dir?: string
  sync?: Record<string, unknown>
  [k: string]: unknown
}

export type SyncStatus = Record<string, unknown>

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

async function request<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
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
  createList: (name: string) => request<TaskListInfo>('POST', '/api/lists', { name }),
  /** One write: put a task before/after a sibling, in a list or under a parent. */
  moveTask: (id: string, where: { list_id?: string; parent_id?: string | null; after_id?: string; before_id?: string }) =>
    request<Task>('POST', `/api/tasks/${encodeURIComponent(id)}/move`, where),
  listTasks: (q: TaskQuery = {}, signal?: AbortSignal) =>
    request<TaskPage>('GET', `/api/tasks${taskQueryString(q)}`, undefined, { signal }),
  getTask: (id: string) => request<Task>('GET', `/api/tasks/${encodeURIComponent(id)}`),
  createTask: (fields: TaskWritable) => request<Task>('POST', '/api/tasks', fields),
  updateTask: (id: string, patch: Partial<TaskWritable>) =>
    request<Task>('PATCH', `/api/tasks/${encodeURIComponent(id)}`, patch),
  deleteTask: (id: string, keepalive = false) =>
    request<unknown>('DELETE', `/api/tasks/${encodeURIComponent(id)}`, undefined, { keepalive }),
  completeTask: (id: string, completed: boolean) =>
    request<Task>('POST', `/api/tasks/${encodeURIComponent(id)}/complete`, { completed }),

  getSettings: () => request<Settings>('GET', '/api/settings'),
  putSettings: (patch: Record<string, unknown>) => request<Settings>('PUT', '/api/settings', patch),
  setGeminiKey: (apiKey: string, allowPlaintextFile: boolean) =>
    request<Settings | KeyStatus>('PUT', '/api/settings/gemini-key', {
      api_key: apiKey,
      allow_plaintext_file: allowPlaintextFile,
    }),
  clearGeminiKey: () => request<unknown>('DELETE', '/api/settings/gemini-key'),

  /** Resolves to null when sync is not available (404). */
  getSyncStatus: async (): Promise<SyncStatus | null> => {
    try {
      return await request<SyncStatus>('GET', '/api/sync/status')
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null
      throw e
    }
  },
  runSync: () => request<SyncStatus>('POST', '/api/sync/run'),

  search: (q: string, limit = 20, signal?: AbortSignal) =>
    request<{ results: SearchResult[] }>(
      'GET',
      `/api/search?${new URLSearchParams({ q, limit: String(limit) }).toString()}`,
      undefined,
      { signal },
    ),
  threadTaskLinks: (threadId: string) =>
    request<{ links: TaskLinkChip[] }>('GET', `/api/threads/${encodeURIComponent(threadId)}/task-links`),
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
    return (await res.json()) as ImportReport
  },
}

export interface ImportReport {
  inserted: Record<string, number>
  updated: Record<string, number>
  unchanged: Record<string, number>
  skipped: number
}

export type Api = typeof api
