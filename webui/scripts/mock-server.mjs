#!/usr/bin/env node
// A tiny stand-in for `taskchat serve` (no dependencies) to try the UI
// without Python or Gemini: serves dist/ and fakes the HTTP API, including
// ChatKit SSE streams. For UI development and screenshots only.
//
//   node scripts/mock-server.mjs [port]     (default 8799)
//
// Chat behaviour: "Add a task: X" creates task X (client_effect tasks_changed);
// a message containing "fail" ends with an error event (allow_retry);
// "slow" streams slowly (to try Stop); anything else echoes.

import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'dist')
const port = Number(process.argv[2] ?? process.env.PORT ?? 8799)
const noKey = process.env.MOCK_NO_KEY === '1'

const now = () => new Date().toISOString()
let seq = 1
const id = (p) => `${p}_${(seq++).toString(36)}`

const tasks = new Map()
function addTask(fields) {
  const t = {
    id: id('task'),
    title: fields.title,
    description: fields.description ?? '',
    completed: !!fields.completed,
    completed_at: fields.completed ? now() : null,
    priority: fields.priority ?? 'none',
    due: fields.due ?? null,
    tags: fields.tags ?? [],
    created_at: now(),
    updated_at: now(),
  }
  tasks.set(t.id, t)
  return t
}
const day = (n) => {
  const d = new Date()
  d.setDate(d.getDate() + n)
  return d.toISOString().slice(0, 10)
}
addTask({ title: 'Renew passport', due: day(-2), priority: 'high', tags: ['admin'] })
addTask({ title: 'Buy birthday present for Sam', due: day(0), tags: ['personal'] })
addTask({ title: 'Draft Q4 report', due: day(3), priority: 'medium', tags: ['work'], description: 'Numbers from finance first' })
addTask({ title: 'Book dentist appointment', priority: 'low' })
addTask({ title: 'Water the plants', completed: true })

let settings = {
  gemini_key: noKey ? { set: false, last4: null, source: null } : { set: true, last4: 'a1b2', source: 'keyring' },
  keyring: { available: process.env.MOCK_NO_KEYRING !== '1', backend: 'SecretService', message: 'No Secret Service found (keyring backend: fail).' },
  model: 'gemini-2.5-flash',
  data_dir: '/home/user/.local/share/taskchat',
  sync: { configured: false },
}

const threads = new Map() // id -> {meta, items: []}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}
const err = (res, status, code, message) => json(res, status, { error: { code, message } })

async function body(req) {
  const chunks = []
  for await (const c of req) chunks.push(c)
  const s = Buffer.concat(chunks).toString('utf8')
  return s ? JSON.parse(s) : {}
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function respond(res, thread, userItem, isNew) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  let closed = false
  res.on('close', () => (closed = true))
  const send = (ev) => !closed && res.write(`data: ${JSON.stringify(ev)}\n\n`)
  if (isNew) send({ type: 'thread.created', thread: { ...thread.meta, items: { data: [], has_more: false } } })
  if (userItem) {
    thread.items.push(userItem)
    send({ type: 'thread.item.done', item: userItem })
  }
  send({ type: 'stream_options', stream_options: { allow_cancel: true } })
  const text = userItem ? userItem.content.map((c) => c.text).join('') : [...thread.items].reverse().find((i) => i.type === 'user_message')?.content[0].text ?? ''
  await sleep(300)
  let reply
  const m = /^add a task:?\s*(.+)$/i.exec(text.trim())
  if (m) {
    send({ type: 'progress_update', text: 'Creating task…' })
    await sleep(500)
    const t = addTask({ title: m[1] })
    send({ type: 'client_effect', name: 'tasks_changed', data: { ids: [t.id] } })
    reply = `Added **${t.title}** to your list. Anything else?`
  } else if (/due this week/i.test(text)) {
    send({ type: 'progress_update', text: 'Looking up tasks…' })
    await sleep(500)
    const due = [...tasks.values()].filter((t) => !t.completed && t.due && t.due <= day(7))
    reply = due.length ? `Due this week:\n\n${due.map((t) => `- **${t.title}** — ${t.due}`).join('\n')}` : 'Nothing is due this week.'
  } else {
    reply = `You said: _${text}_. I can add, list, update and complete tasks.`
  }
  if (/fail/i.test(text)) {
    await sleep(300)
    send({ type: 'error', code: 'stream.error', allow_retry: true })
    res.end()
    return
  }
  const aid = id('msg')
  const item = { id: aid, thread_id: thread.meta.id, created_at: now(), type: 'assistant_message', content: [] }
  send({ type: 'thread.item.added', item })
  send({ type: 'thread.item.updated', item_id: aid, update: { type: 'assistant_message.content_part.added', content_index: 0, content: { type: 'output_text', text: '', annotations: [] } } })
  const slow = /slow/i.test(text)
  const words = (slow ? `${reply} ${'This reply streams slowly so that you can press Stop. '.repeat(8)}` : reply).split(/(?<= )/)
  let acc = ''
  for (const w of words) {
    if (closed) return
    acc += w
    send({ type: 'thread.item.updated', item_id: aid, update: { type: 'assistant_message.content_part.text_delta', content_index: 0, delta: w } })
    await sleep(slow ? 150 : 40)
  }
  const done = { ...item, content: [{ type: 'output_text', text: acc, annotations: [] }] }
  thread.items.push(done)
  send({ type: 'thread.item.done', item: done })
  if (!thread.meta.title) {
    thread.meta.title = text.slice(0, 40)
    send({ type: 'thread.updated', thread: { ...thread.meta, items: { data: [], has_more: false } } })
  }
  res.end()
}

async function chatkit(req, res) {
  const r = await body(req)
  const p = r.params ?? {}
  const mkUser = (threadId) => ({
    id: id('msg'),
    thread_id: threadId,
    created_at: now(),
    type: 'user_message',
    content: p.input.content,
    attachments: [],
    inference_options: {},
  })
  switch (r.type) {
    case 'threads.list': {
      const all = [...threads.values()].map((t) => ({ ...t.meta, items: { data: [], has_more: false } })).reverse()
      return json(res, 200, { data: all.slice(0, p.limit ?? 20), has_more: all.length > (p.limit ?? 20) })
    }
    case 'items.list': {
      const t = threads.get(p.thread_id)
      if (!t) return err(res, 404, 'not_found', 'Thread not found')
      return json(res, 200, { data: t.items, has_more: false })
    }
    case 'threads.update': {
      const t = threads.get(p.thread_id)
      if (!t) return err(res, 404, 'not_found', 'Thread not found')
      t.meta.title = p.title
      return json(res, 200, { ...t.meta, items: { data: [], has_more: false } })
    }
    case 'threads.delete':
      threads.delete(p.thread_id)
      return json(res, 200, {})
    case 'threads.create': {
      const t = { meta: { id: id('thr'), title: null, created_at: now(), status: { type: 'active' } }, items: [] }
      threads.set(t.meta.id, t)
      return respond(res, t, mkUser(t.meta.id), true)
    }
    case 'threads.add_user_message': {
      const t = threads.get(p.thread_id)
      if (!t) return err(res, 404, 'not_found', 'Thread not found')
      return respond(res, t, mkUser(t.meta.id), false)
    }
    case 'threads.retry_after_item': {
      const t = threads.get(p.thread_id)
      if (!t) return err(res, 404, 'not_found', 'Thread not found')
      const i = t.items.findIndex((x) => x.id === p.item_id)
      t.items = t.items.slice(0, i + 1)
      t.items[i] = { ...t.items[i], content: [{ type: 'input_text', text: t.items[i].content[0].text.replace(/fail/gi, 'ok') }] }
      return respond(res, t, null, false)
    }
    default:
      return err(res, 400, 'bad_request', `Unsupported request ${r.type}`)
  }
}

function listTasks(url) {
  const q = url.searchParams
  let items = [...tasks.values()]
  if (q.has('completed')) items = items.filter((t) => String(t.completed) === q.get('completed'))
  if (q.get('priority')) items = items.filter((t) => t.priority === q.get('priority'))
  if (q.get('tag')) items = items.filter((t) => t.tags.includes(q.get('tag')))
  if (q.get('due_before')) items = items.filter((t) => t.due && t.due < q.get('due_before'))
  if (q.get('q')) items = items.filter((t) => t.title.toLowerCase().includes(q.get('q').toLowerCase()))
  return { items, total: items.length }
}

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' }

createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://x')
    const path = url.pathname
    if (path === '/api/chatkit' && req.method === 'POST') return await chatkit(req, res)
    if (path === '/api/tasks' && req.method === 'GET') return json(res, 200, listTasks(url))
    if (path === '/api/tasks' && req.method === 'POST') {
      const b = await body(req)
      if (!b.title?.trim()) return err(res, 422, 'validation_error', 'title must not be empty')
      return json(res, 201, addTask(b))
    }
    let m = /^\/api\/tasks\/([^/]+)(\/complete)?$/.exec(path)
    if (m) {
      const t = tasks.get(decodeURIComponent(m[1]))
      if (!t) return err(res, 404, 'not_found', 'Task not found')
      if (m[2] && req.method === 'POST') {
        const b = await body(req)
        Object.assign(t, { completed: b.completed !== false, completed_at: b.completed !== false ? now() : null, updated_at: now() })
        return json(res, 200, t)
      }
      if (req.method === 'PATCH') {
        Object.assign(t, await body(req), { updated_at: now() })
        return json(res, 200, t)
      }
      if (req.method === 'DELETE') {
        tasks.delete(t.id)
        res.writeHead(204).end()
        return
      }
      return json(res, 200, t)
    }
    if (path === '/api/settings' && req.method === 'GET') return json(res, 200, settings)
    if (path === '/api/settings' && req.method === 'PUT') {
      settings = { ...settings, ...(await body(req)) }
      return json(res, 200, settings)
    }
    if (path === '/api/settings/gemini-key') {
      if (req.method === 'DELETE') settings.gemini_key = { set: false, last4: null, source: null }
      else {
        const b = await body(req)
        if (!settings.keyring.available && !b.allow_plaintext_file) return err(res, 409, 'keyring_unavailable', 'No keyring available')
        settings.gemini_key = { set: true, last4: b.api_key.slice(-4), source: settings.keyring.available ? 'keyring' : 'file' }
      }
      return json(res, 200, settings)
    }
    if (path.startsWith('/api/')) return err(res, 404, 'not_found', 'Not found')
    const file = normalize(join(root, path === '/' ? 'index.html' : path))
    if (!file.startsWith(root)) return err(res, 403, 'forbidden', 'no')
    try {
      const data = await readFile(file)
      res.writeHead(200, {
        'content-type': MIME[extname(file)] ?? 'application/octet-stream',
        'content-security-policy': "default-src 'self'; script-src 'self' https://cdn.platform.openai.com; style-src 'self' 'unsafe-inline'; connect-src 'self' https://cdn.platform.openai.com; frame-src https://cdn.platform.openai.com",
      })
      res.end(data)
    } catch {
      res.writeHead(404).end('not found')
    }
  } catch (e) {
    console.error(e)
    if (!res.headersSent) err(res, 500, 'internal', String(e))
    else res.end()
  }
}).listen(port, '127.0.0.1', () => console.log(`mock TaskChat at http://127.0.0.1:${port}/`))
