// Repeating tasks in the UI: quick-add repeat phrases → an RFC 5545 RRULE, and a rule → words.
//
// Pure and self-contained (no date maths: the server expands the rule in the person's
// zone; see app/tasks/recurrence.py). Understood anywhere in the text, case-insensitive:
//
//   every monday, every mon and thu, every tuesday, friday      FREQ=WEEKLY;BYDAY=…
//   every weekday                                               FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR
//   every day / daily, every week / weekly, every month / monthly, every year / yearly
//   every 2 weeks, every 3 days, every 6 months                 …;INTERVAL=n
//   monthly on the 1st, every month on the 15th                 FREQ=MONTHLY;BYMONTHDAY=n
//   "… at 9", "at 9:30", "at 6pm" after a phrase                the time of day (for the due)
//
// The same phrases as app/tasks/quickadd.py (the tray's quick add), so both agree.

import { type QuickAddChip, type QuickAddOptions, type QuickAddResult, parseQuickAdd } from './quickadd'

export interface RepeatMatch {
  /** The RRULE without "RRULE:", e.g. FREQ=WEEKLY;BYDAY=MO. */
  rule: string
  /** The words as typed (including any "at 9"). */
  text: string
  /** The text with the phrase taken out (spaces tidied). */
  rest: string
  /** The time of day the phrase named, as HH:MM, or null. */
  time: string | null
}

const DAY_CODES: Record<string, string> = {
  mon: 'MO',
  tue: 'TU',
  wed: 'WE',
  thu: 'TH',
  fri: 'FR',
  sat: 'SA',
  sun: 'SU',
}
const DAY_NAMES: Record<string, string> = {
  MO: 'Monday',
  TU: 'Tuesday',
  WE: 'Wednesday',
  TH: 'Thursday',
  FR: 'Friday',
  SA: 'Saturday',
  SU: 'Sunday',
}
const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR']
const DAY = '(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|sday|nesday|urday)?\\b'
const AT = '(?:\\s+at\\s+(\\d{1,2})(?::(\\d{2}))?\\s*(am|pm)?)?'
const ON_THE = '(?:\\s+on\\s+the\\s+(\\d{1,2})(?:st|nd|rd|th)?)?'
const UNITS: Record<string, string> = {
  day: 'DAILY',
  week: 'WEEKLY',
  month: 'MONTHLY',
  year: 'YEARLY',
}
const ADVERBS: Record<string, string> = {
  daily: 'DAILY',
  weekly: 'WEEKLY',
  monthly: 'MONTHLY',
  yearly: 'YEARLY',
}

const PATTERNS: { re: RegExp; rule: (m: RegExpExecArray) => string; at: number }[] = [
  {
    re: new RegExp(`\\bevery\\s+weekday${AT}\\b`, 'i'),
    rule: () => `FREQ=WEEKLY;BYDAY=${WEEKDAYS.join(',')}`,
    at: 1,
  },
  {
    re: new RegExp(`\\bevery\\s+(${DAY}(?:\\s*(?:,|and)\\s*${DAY})*)${AT}`, 'i'),
    rule: (m) => {
      const words = m[1].toLowerCase().match(new RegExp(DAY, 'gi')) ?? []
      const codes = [...new Set(words.map((w) => DAY_CODES[w.slice(0, 3).toLowerCase()]))]
      return `FREQ=WEEKLY;BYDAY=${codes.join(',')}`
    },
    at: 2,
  },
  {
    re: new RegExp(`\\bevery\\s+(?:(\\d+)\\s+)?(day|week|month|year)s?${ON_THE}${AT}\\b`, 'i'),
    rule: (m) => withParts(UNITS[m[2].toLowerCase()], Number(m[1] ?? 1), m[3]),
    at: 4,
  },
  {
    re: new RegExp(`\\b(daily|weekly|monthly|yearly)${ON_THE}${AT}\\b`, 'i'),
    rule: (m) => withParts(ADVERBS[m[1].toLowerCase()], 1, m[2]),
    at: 3,
  },
]

function withParts(freq: string, interval: number, monthDay: string | undefined): string {
  const parts = [`FREQ=${freq}`]
  if (interval > 1) parts.push(`INTERVAL=${interval}`)
  if (monthDay && freq === 'MONTHLY') parts.push(`BYMONTHDAY=${Number(monthDay)}`)
  return parts.join(';')
}

function clock(m: RegExpExecArray, at: number): string | null {
  const hour = m[at]
  if (hour === undefined) return null
  let h = Number(hour)
  const minute = Number(m[at + 1] ?? 0)
  const ampm = (m[at + 2] ?? '').toLowerCase()
  if (ampm === 'pm' && h < 12) h += 12
  if (ampm === 'am' && h === 12) h = 0
  if (h > 23 || minute > 59) return null
  return `${String(h).padStart(2, '0')}:${String(minute).padStart(2, '0')}`
}

/** The first repeat phrase in `text`, or null when it has none. */
export function parseRepeat(text: string): RepeatMatch | null {
  for (const { re, rule, at } of PATTERNS) {
    const m = re.exec(text)
    if (!m) continue
    const rest = (text.slice(0, m.index) + text.slice(m.index + m[0].length))
      .replace(/\s{2,}/g, ' ')
      .trim()
      .replace(/^[\s,;:-]+|[\s,;:-]+$/g, '')
    return { rule: rule(m), text: m[0].trim(), rest, time: clock(m, at) }
  }
  return null
}

function ordinal(n: number): string {
  if (n === -1) return 'last'
  const tens = n % 100
  const suffix = tens >= 10 && tens <= 20 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th')
  return `${n}${suffix}`
}

/** A rule in plain English, as the task panel shows it ("every 2 weeks on Monday"). */
export function ruleInWords(rule: string | null | undefined): string {
  if (!rule) return ''
  const parts = new Map<string, string>()
  for (const piece of rule.replace(/^RRULE:/i, '').split(';')) {
    const [key, value] = piece.split('=')
    if (key && value !== undefined) parts.set(key.toUpperCase(), value.toUpperCase())
  }
  const unit =
    { HOURLY: 'hour', DAILY: 'day', WEEKLY: 'week', MONTHLY: 'month', YEARLY: 'year' }[
      parts.get('FREQ') ?? ''
    ] ?? 'time'
  const interval = Number(parts.get('INTERVAL') ?? 1) || 1
  const days = (parts.get('BYDAY') ?? '').split(',').filter(Boolean)
  let words: string
  if (unit === 'week' && interval === 1 && [...days].sort().join() === [...WEEKDAYS].sort().join()) {
    words = 'every weekday'
  } else {
    words = interval > 1 ? `every ${interval} ${unit}s` : unit === 'day' ? 'daily' : `every ${unit}`
    if (days.length) words += ' on ' + days.map((d) => DAY_NAMES[d.slice(-2)] ?? d).join(', ')
    const monthDays = parts.get('BYMONTHDAY')
    if (monthDays) {
      words += ' on the ' + monthDays.split(',').map((d) => ordinal(Number(d))).join(', ')
    }
  }
  const hours = parts.get('BYHOUR')
  if (hours) {
    const minute = String(Number(parts.get('BYMINUTE') ?? 0)).padStart(2, '0')
    words += ' at ' + hours.split(',').map((h) => `${h.padStart(2, '0')}:${minute}`).join(', ')
  }
  const count = parts.get('COUNT')
  if (count) words += `, ${count} more time${count === '1' ? '' : 's'}`
  const until = parts.get('UNTIL')
  if (until) words += `, until ${until.slice(0, 4)}-${until.slice(4, 6)}-${until.slice(6, 8)}`
  return words
}

/** The chip key of a repeat phrase (pass it in `ignore` to keep the words in the title). */
export function repeatKey(match: RepeatMatch): string {
  return `repeat:${match.text.toLowerCase()}`
}

/**
 * Quick add with repeat phrases: wraps parseQuickAdd. The phrase becomes a "repeat" chip and
 * the task's recurrence; its time ("daily at 9") is handed on as "at HH:MM" for the due.
 */
export function parseQuickAddWithRepeat(input: string, opts: QuickAddOptions): QuickAddResult {
  const repeat = parseRepeat(input)
  const ignore = new Set(opts.ignore ?? [])
  if (!repeat || ignore.has(repeatKey(repeat))) return parseQuickAdd(input, opts)
  const rest = repeat.time ? `${repeat.rest} at ${repeat.time}` : repeat.rest
  const result = parseQuickAdd(rest, opts)
  const chip: QuickAddChip = { key: repeatKey(repeat), kind: 'repeat', text: repeat.text, value: repeat.rule }
  return {
    ...result,
    chips: [chip, ...result.chips],
    fields: result.fields ? { ...result.fields, recurrence: repeat.rule } : null,
  }
}
