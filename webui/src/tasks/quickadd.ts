// Quick add without the model: "buy milk tomorrow p1 #groceries #Travel" → a task, locally.
//
// Pure: the caller passes `now` (an instant), the person's IANA time zone and locale, and
// their lists; calendar words are read in that zone. Understood (case-insensitive),
// anywhere in the text:
//
//   #name                     the list called name (as Todoist's #project); spaces in a
//                             list's name may be typed as - or _ ("#home-office"). When no
//                             list has that name it is a tag instead, as before lists.
//   @tag                      always a tag (as Todoist's @label)
//   p1 p2 p3 p4               priority as in Todoist: p1 high, p2 medium, p3 low, p4 none
//   !high !medium !med !low !none   priority
//   today, tomorrow (also "tmr")
//   monday … sunday (also mon, tue, thu, fri)   the next such day after today (never
//                                   today itself); "wed", "sat", "sun" count only where
//                                   they must be a day: last in the text, after
//                                   due/by/on/next, or before a time ("sat 10am") —
//                                   so "sat nav" and "sun cream" stay words
//   15.12. / 15.12.2026       day.month (the dotted form is day-first everywhere)
//   12/15, 15/12, 12/15/2026  read in the person's locale (month/day in en-US, day/month
//                             in most others); without a locale, or when the numbers
//                             make no date in that order, they stay in the title
//   next monday … next sunday       that day in next week (weeks start on Monday)
//   next week                       Monday of next week
//   in 3 days, in 2 weeks, in a day, in a week
//   dec 5, december 5th, 5 dec, 5th of december   the next such date (this year, or
//                                   next year when it has passed); "dec 5 2027" with a year
//   2026-12-05                      an ISO date
//   at 5pm, 5pm, 5:30pm, at 17:00, 17:00, noon   a time of day; with no date it means
//                                   today, or tomorrow when that time has passed today
//
// "due", "by" and "on" directly before a date are dropped with it.
// When several dates are given, the last one counts; the others stay in the title.
// A date alone is an all-day due date (YYYY-MM-DD); with a time it becomes an instant
// (UTC ISO string) for that wall-clock time in the zone, DST included; a time skipped by
// a DST jump moves forward by the jump, an ambiguous time takes the earlier instant.
//
// Each recognised piece is a chip. Passing a chip's key in `ignore` takes it back: its
// words stay in the title, as typed.

import { Temporal } from 'temporal-polyfill'
import type { Priority, TaskWritable } from '../api/client'

export type ChipKind = 'due' | 'priority' | 'tag' | 'list' | 'repeat'

export interface QuickAddChip {
  /** Stable while the text does not change: pass it in `ignore` to drop the chip. */
  key: string
  kind: ChipKind
  /** The words as typed. */
  text: string
  /** due: YYYY-MM-DD or a UTC ISO instant; priority: the level; tag: the tag; list: its id;
   * repeat: the RRULE (see ./recurrence.ts). */
  value: string
}

export interface QuickAddResult {
  title: string
  chips: QuickAddChip[]
  /** The task to create (null when there is no title left). */
  fields: TaskWritable | null
}

export interface QuickAddList {
  id: string
  name: string
}

export interface QuickAddOptions {
  now: Date
  timeZone: string
  ignore?: ReadonlySet<string> | readonly string[]
  /** BCP 47 locale for numeric dates such as 12/15 (e.g. navigator.language). */
  locale?: string
  /** The person's lists, for #name. */
  lists?: readonly QuickAddList[]
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']
const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
]

// "wed", "sat" and "sun" are ordinary words too often ("sat nav", "sun cream"): only the
// full names and the unambiguous short forms count.
const WEEKDAY_SHORT: Record<string, number> = { mon: 0, tue: 1, tues: 1, thu: 3, thur: 3, thurs: 3, fri: 4 }
// Read only where nothing else fits (see the header).
const WEEKDAY_AMBIGUOUS: Record<string, number> = { wed: 2, sat: 5, sun: 6 }

function weekdayIndex(word: string): number {
  const w = lc(word)
  const full = WEEKDAYS.indexOf(w)
  return full >= 0 ? full : (WEEKDAY_SHORT[w] ?? -1)
}

function monthIndex(word: string): number {
  const w = lc(word)
  if (w === 'sept') return 8
  return MONTHS.findIndex((m) => w === m || (w.length === 3 && m.startsWith(w)))
}

const lc = (w: string | undefined) => (w ?? '').toLowerCase().replace(/[,.;!?]+$/, '')

// ------------------------------------------------------------------ calendar in a zone
// Temporal (temporal-polyfill) does the zone math: today's date in the zone, and the
// instant of a wall-clock time there with the usual ("compatible") rule for DST edges.

type YMD = Temporal.PlainDate

/** The instant (ms) of a wall-clock time in a zone (gap: moved forward; overlap: the earlier). */
export function zonedToUtc(date: { y: number; m: number; d: number } | YMD, hour: number, minute: number, timeZone: string): number {
  const day = 'y' in date ? Temporal.PlainDate.from({ year: date.y, month: date.m, day: date.d }) : date
  return day.toPlainDateTime({ hour, minute }).toZonedDateTime(timeZone, { disambiguation: 'compatible' }).epochMilliseconds
}

function todayIn(now: Date, timeZone: string): YMD {
  return Temporal.Instant.fromEpochMilliseconds(now.getTime()).toZonedDateTimeISO(timeZone).toPlainDate()
}

function addDays(date: YMD, days: number): YMD {
  return date.add({ days })
}

/** 0 = Monday … 6 = Sunday. */
function weekday(date: YMD): number {
  return date.dayOfWeek - 1
}

function dateOf(y: number, m: number, d: number): YMD | null {
  try {
    return Temporal.PlainDate.from({ year: y, month: m, day: d }, { overflow: 'reject' })
  } catch {
    return null
  }
}

function cmp(a: YMD, b: YMD): number {
  return Temporal.PlainDate.compare(a, b)
}

export function isoYmd(date: YMD): string {
  return date.toString()
}

// ------------------------------------------------------------------ matchers

interface Match {
  length: number // words consumed
  date?: YMD
  time?: { h: number; min: number }
}

type Matcher = (words: string[], i: number, today: YMD, order?: NumericOrder) => Match | null

/** Which number comes first in a numeric date: the month (en-US) or the day. */
type NumericOrder = 'md' | 'dm'

const orderCache = new Map<string, NumericOrder | undefined>()

/** The locale's numeric date order, from how it formats a date (undefined: unknown). */
export function numericOrder(locale: string | undefined): NumericOrder | undefined {
  if (!locale) return undefined
  if (orderCache.has(locale)) return orderCache.get(locale)
  let order: NumericOrder | undefined
  try {
    const parts = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'numeric', day: 'numeric' })
      .formatToParts(new Date(Date.UTC(2026, 11, 15, 12)))
      .map((p) => p.type)
    order = parts.indexOf('month') < parts.indexOf('day') ? 'md' : 'dm'
  } catch {
    order = undefined
  }
  orderCache.set(locale, order)
  return order
}

function numericYear(text: string | undefined): number | undefined | null {
  if (!text) return undefined
  if (/^\d{4}$/.test(text)) return Number(text)
  if (/^\d{2}$/.test(text)) return 2000 + Number(text)
  return null // something else: not a date
}

function ordinalDay(word: string | undefined): number | null {
  const m = /^(\d{1,2})(st|nd|rd|th)?$/.exec(lc(word))
  return m ? Number(m[1]) : null
}

function nextMonthDay(m: number, d: number, today: YMD, year?: number): YMD | null {
  if (year !== undefined) return dateOf(year, m, d)
  for (let y = today.year; y <= today.year + 4; y++) {
    const date = dateOf(y, m, d)
    if (date && cmp(date, today) >= 0) return date
  }
  return null
}

function yearAt(word: string | undefined): number | undefined {
  const m = /^(\d{4})$/.exec(lc(word))
  return m ? Number(m[1]) : undefined
}

const DATE_MATCHERS: Matcher[] = [
  // today / tomorrow
  (w, i, today) => {
    const x = lc(w[i])
    if (x === 'today') return { length: 1, date: today }
    if (x === 'tomorrow' || x === 'tmr' || x === 'tmrw') return { length: 1, date: addDays(today, 1) }
    return null
  },
  // next week / next <weekday>
  (w, i, today) => {
    if (lc(w[i]) !== 'next') return null
    const monday = addDays(today, 7 - weekday(today))
    if (lc(w[i + 1]) === 'week') return { length: 2, date: monday }
    const wd = weekdayIndex(w[i + 1] ?? '') >= 0 ? weekdayIndex(w[i + 1] ?? '') : (WEEKDAY_AMBIGUOUS[lc(w[i + 1])] ?? -1)
    if (wd < 0) return null
    return { length: 2, date: addDays(monday, wd) }
  },
  // <weekday>
  (w, i, today) => {
    let wd = weekdayIndex(w[i])
    if (wd < 0 && lc(w[i]) in WEEKDAY_AMBIGUOUS) {
      const last = i === w.length - 1
      const after = i > 0 && CONNECTORS.has(lc(w[i - 1]))
      const beforeTime = lc(w[i + 1]) === 'at' || parseTime(w[i + 1]) !== null
      if (last || after || beforeTime) wd = WEEKDAY_AMBIGUOUS[lc(w[i])]
    }
    if (wd < 0) return null
    const diff = (wd - weekday(today) + 7) % 7 || 7
    return { length: 1, date: addDays(today, diff) }
  },
  // in N days / weeks
  (w, i, today) => {
    if (lc(w[i]) !== 'in') return null
    const n = lc(w[i + 1]) === 'a' || lc(w[i + 1]) === 'an' ? 1 : /^\d{1,3}$/.test(lc(w[i + 1])) ? Number(lc(w[i + 1])) : NaN
    if (Number.isNaN(n)) return null
    const unit = lc(w[i + 2])
    if (unit === 'day' || unit === 'days') return { length: 3, date: addDays(today, n) }
    if (unit === 'week' || unit === 'weeks') return { length: 3, date: addDays(today, 7 * n) }
    return null
  },
  // dec 5 [2027], december 5th
  (w, i, today) => {
    const mi = monthIndex(w[i])
    if (mi < 0) return null
    const d = ordinalDay(w[i + 1])
    if (d === null) return null
    const year = yearAt(w[i + 2])
    const date = nextMonthDay(mi + 1, d, today, year)
    return date ? { length: year !== undefined ? 3 : 2, date } : null
  },
  // 5 dec [2027], 5th of december
  (w, i, today) => {
    const d = ordinalDay(w[i])
    if (d === null) return null
    const of = lc(w[i + 1]) === 'of' ? 1 : 0
    const mi = monthIndex(w[i + 1 + of] ?? '')
    if (mi < 0) return null
    const year = yearAt(w[i + 2 + of])
    const date = nextMonthDay(mi + 1, d, today, year)
    return date ? { length: 2 + of + (year !== undefined ? 1 : 0), date } : null
  },
  // 15.12. / 15.12.2026 (day first)
  (w, i, today) => {
    const m = /^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})?$/.exec((w[i] ?? '').replace(/[,;!?]+$/, ''))
    if (!m) return null
    const year = numericYear(m[3])
    if (year === null) return null
    const date = nextMonthDay(Number(m[2]), Number(m[1]), today, year)
    return date ? { length: 1, date } : null
  },
  // 12/15, 15/12, 12/15/2026 in the locale's order
  (w, i, today, order) => {
    if (!order) return null
    const m = /^(\d{1,2})\/(\d{1,2})(?:\/(\d{2}|\d{4}))?$/.exec(lc(w[i]))
    if (!m) return null
    const [a, b] = [Number(m[1]), Number(m[2])]
    const [month, day] = order === 'md' ? [a, b] : [b, a]
    const year = numericYear(m[3])
    if (year === null) return null
    const date = nextMonthDay(month, day, today, year)
    return date ? { length: 1, date } : null
  },
  // 2026-12-05
  (w, i) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(lc(w[i]))
    if (!m) return null
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
    const date = dateOf(y, mo, d)
    return date ? { length: 1, date } : null
  },
]

function parseTime(word: string | undefined): { h: number; min: number } | null {
  const x = lc(word)
  if (x === 'noon') return { h: 12, min: 0 }
  if (x === 'midnight') return { h: 0, min: 0 }
  let m = /^(\d{1,2})(?::(\d{2}))?(am|pm)$/.exec(x)
  if (m) {
    let h = Number(m[1])
    const min = m[2] ? Number(m[2]) : 0
    if (h < 1 || h > 12 || min > 59) return null
    if (m[3] === 'am') h = h === 12 ? 0 : h
    else h = h === 12 ? 12 : h + 12
    return { h, min }
  }
  m = /^(\d{1,2}):(\d{2})$/.exec(x)
  if (m) {
    const h = Number(m[1])
    const min = Number(m[2])
    if (h > 23 || min > 59) return null
    return { h, min }
  }
  return null
}

const TIME_MATCHER: Matcher = (w, i) => {
  if (lc(w[i]) === 'at') {
    const t = parseTime(w[i + 1])
    return t ? { length: 2, time: t } : null
  }
  const t = parseTime(w[i])
  // A bare "noon"/"midnight" is a time; so is 5pm or 17:00.
  return t ? { length: 1, time: t } : null
}

const CONNECTORS = new Set(['due', 'by', 'on'])
// Todoist's p1 (most urgent) … p4 (none).
const TODOIST_PRIORITY = ['high', 'medium', 'low', 'none']

/** A list name as #name may type it: case, spaces, - and _ do not matter. */
function listKey(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, '')
}

// ------------------------------------------------------------------ parse

interface Found {
  start: number
  end: number // exclusive, in words
  kind: ChipKind | 'time'
  value: string
  date?: YMD
  time?: { h: number; min: number }
}

export function parseQuickAdd(input: string, opts: QuickAddOptions): QuickAddResult {
  const ignore = new Set(opts.ignore ?? [])
  const words = input.trim().split(/\s+/).filter(Boolean)
  const today = todayIn(opts.now, opts.timeZone)
  const order = numericOrder(opts.locale)
  const listByName = new Map<string, QuickAddList>()
  for (const l of opts.lists ?? []) listByName.set(listKey(l.name), l)
  const found: Found[] = []

  for (let i = 0; i < words.length; ) {
    const word = words[i]
    const tag = /^([#@])([\p{L}\p{N}_-]+)$/u.exec(word)
    if (tag) {
      const list = tag[1] === '#' ? listByName.get(listKey(tag[2])) : undefined
      if (list) found.push({ start: i, end: i + 1, kind: 'list', value: list.id })
      else found.push({ start: i, end: i + 1, kind: 'tag', value: tag[2].toLowerCase() })
      i += 1
      continue
    }
    const prio = /^!(high|medium|med|low|none)$/i.exec(word)
    const todoist = /^p([1-4])$/i.exec(word)
    if (prio || todoist) {
      const p = prio ? prio[1].toLowerCase() : TODOIST_PRIORITY[Number(todoist![1]) - 1]
      found.push({ start: i, end: i + 1, kind: 'priority', value: p === 'med' ? 'medium' : p })
      i += 1
      continue
    }
    let matched = false
    for (const matcher of DATE_MATCHERS) {
      const m = matcher(words, i, today, order)
      if (m && m.date) {
        let start = i
        if (start > 0 && CONNECTORS.has(lc(words[start - 1])) && !found.some((f) => f.end > start - 1)) start -= 1
        found.push({ start, end: i + m.length, kind: 'due', value: isoYmd(m.date), date: m.date })
        i += m.length
        matched = true
        break
      }
    }
    if (matched) continue
    const t = TIME_MATCHER(words, i, today)
    if (t && t.time) {
      found.push({ start: i, end: i + t.length, kind: 'time', value: '', time: t.time })
      i += t.length
      continue
    }
    i += 1
  }

  // Chip keys: kind + the words as typed + which occurrence (stable while text is stable).
  const seen = new Map<string, number>()
  const keyed = found.map((f) => {
    const text = words.slice(f.start, f.end).join(' ')
    const base = `${f.kind}:${text.toLowerCase()}`
    const n = (seen.get(base) ?? 0) + 1
    seen.set(base, n)
    return { ...f, text, key: n > 1 ? `${base}#${n}` : base }
  })

  // The last date and the last time count; the last priority; tags de-duplicated.
  const active = keyed.filter(
    (f) => !ignore.has(f.key) && !((f.kind === 'due' || f.kind === 'time') && ignore.has('due')),
  )
  const lastOf = (kind: Found['kind']) => [...active].reverse().find((f) => f.kind === kind)
  const dateF = lastOf('due')
  const timeF = lastOf('time')
  const prioF = lastOf('priority')
  const listF = lastOf('list')
  const tagFs = active.filter((f, idx) => f.kind === 'tag' && active.findIndex((g) => g.kind === 'tag' && g.value === f.value) === idx)

  const used = new Set<(typeof keyed)[number]>()
  const chips: QuickAddChip[] = []
  let due: string | undefined
  if (dateF || timeF) {
    let date = dateF?.date ?? today
    if (timeF?.time) {
      let at = zonedToUtc(date, timeF.time.h, timeF.time.min, opts.timeZone)
      if (!dateF && at <= opts.now.getTime()) {
        date = addDays(today, 1)
        at = zonedToUtc(date, timeF.time.h, timeF.time.min, opts.timeZone)
      }
      due = new Date(at).toISOString().replace(/\.000Z$/, 'Z')
    } else {
      due = isoYmd(date)
    }
    const parts = [dateF, timeF].filter((f): f is NonNullable<typeof f> => !!f)
    parts.forEach((f) => used.add(f))
    chips.push({ key: 'due', kind: 'due', text: parts.map((f) => f.text).join(' '), value: due })
  }
  if (prioF) {
    used.add(prioF)
    chips.push({ key: prioF.key, kind: 'priority', text: prioF.text, value: prioF.value })
  }
  if (listF) {
    used.add(listF)
    chips.push({ key: listF.key, kind: 'list', text: listF.text, value: listF.value })
  }
  for (const f of tagFs) {
    used.add(f)
    chips.push({ key: f.key, kind: 'tag', text: f.text, value: f.value })
  }
  // Duplicate tags and repeated priorities are consumed silently (no extra chip).
  for (const f of active) {
    if ((f.kind === 'tag' && tagFs.some((g) => g.value === f.value)) || (f.kind === 'priority' && prioF)) used.add(f)
  }

  const consumed = new Set<number>()
  for (const f of used) for (let k = f.start; k < f.end; k++) consumed.add(k)
  const title = words.filter((_, k) => !consumed.has(k)).join(' ')

  let fields: TaskWritable | null = null
  if (title) {
    fields = { title }
    if (due) fields.due = due
    if (prioF) fields.priority = prioF.value as Priority
    if (tagFs.length) fields.tags = tagFs.map((f) => f.value)
    if (listF) fields.list_id = listF.value
  }
  return { title, chips, fields }
}

/** The person's time zone: the app setting when set, else the browser's. */
export function resolveTimeZone(setting?: string | null): string {
  if (setting) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: setting })
      return setting
    } catch {
      /* unknown zone: fall back */
    }
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
}
