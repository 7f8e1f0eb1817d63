import { describe, expect, it } from 'vitest'
import { parseQuickAdd, resolveTimeZone, zonedToUtc } from './quickadd'

const BERLIN = 'Europe/Berlin'
const NY = 'America/New_York'
const TOKYO = 'Asia/Tokyo'
const SYDNEY = 'Australia/Sydney'

// [phrase, now (instant), zone, expected title, expected due, priority?, tags?]
type Row = [string, string, string, string, string | undefined, string?, string[]?]

// Wednesday 2026-11-25 10:00 in Berlin (09:00Z).
const WED = '2026-11-25T09:00:00Z'

const TABLE: Row[] = [
  // ---- the example, tags and priority
  ['buy milk tomorrow !high #groceries', WED, BERLIN, 'buy milk', '2026-11-26', 'high', ['groceries']],
  ['buy milk', WED, BERLIN, 'buy milk', undefined],
  ['call mum !med', WED, BERLIN, 'call mum', undefined, 'medium'],
  ['#Work #work report !low !high', WED, BERLIN, 'report', undefined, 'high', ['work']],
  ['email #a-b #c_d', WED, BERLIN, 'email', undefined, undefined, ['a-b', 'c_d']],
  ['ship it!high', WED, BERLIN, 'ship it!high', undefined],
  // ---- today / tomorrow
  ['pay rent today', WED, BERLIN, 'pay rent', '2026-11-25'],
  ['pay rent Today', WED, BERLIN, 'pay rent', '2026-11-25'],
  ['pay rent tmr', WED, BERLIN, 'pay rent', '2026-11-26'],
  ['pay rent due tomorrow', WED, BERLIN, 'pay rent', '2026-11-26'],
  // ---- weekdays (Wednesday today)
  ['gym friday', WED, BERLIN, 'gym', '2026-11-27'],
  ['gym Fri', WED, BERLIN, 'gym', '2026-11-27'],
  ['gym wednesday', WED, BERLIN, 'gym', '2026-12-02'],
  ['gym monday', WED, BERLIN, 'gym', '2026-11-30'],
  ['gym on monday', WED, BERLIN, 'gym', '2026-11-30'],
  ['gym next monday', WED, BERLIN, 'gym', '2026-11-30'],
  ['gym next friday', WED, BERLIN, 'gym', '2026-12-04'],
  ['gym next week', WED, BERLIN, 'gym', '2026-11-30'],
  ['sat nav sun cream', WED, BERLIN, 'sat nav sun cream', undefined],
  // ---- in N days / weeks, across month and year ends
  ['renew in 3 days', WED, BERLIN, 'renew', '2026-11-28'],
  ['renew in 6 days', WED, BERLIN, 'renew', '2026-12-01'],
  ['renew in 2 weeks', WED, BERLIN, 'renew', '2026-12-09'],
  ['renew in a week', WED, BERLIN, 'renew', '2026-12-02'],
  ['party in 10 days', '2026-12-28T12:00:00Z', BERLIN, 'party', '2027-01-07'],
  ['taxes tomorrow', '2026-12-31T12:00:00Z', NY, 'taxes', '2027-01-01'],
  ['leap in 1 day', '2028-02-28T12:00:00Z', BERLIN, 'leap', '2028-02-29'],
  ['no leap in 1 day', '2027-02-28T12:00:00Z', BERLIN, 'no leap', '2027-03-01'],
  ['monday', '2026-12-30T12:00:00Z', BERLIN, '', undefined], // a date alone is no task
  ['review monday', '2026-12-30T12:00:00Z', BERLIN, 'review', '2027-01-04'],
  // ---- month names
  ['gift dec 5', WED, BERLIN, 'gift', '2026-12-05'],
  ['gift December 5th', WED, BERLIN, 'gift', '2026-12-05'],
  ['gift 5 dec', WED, BERLIN, 'gift', '2026-12-05'],
  ['gift 5th of december', WED, BERLIN, 'gift', '2026-12-05'],
  ['dentist by jan 3', WED, BERLIN, 'dentist', '2027-01-03'],
  ['dentist nov 25', WED, BERLIN, 'dentist', '2026-11-25'],
  ['dentist nov 24', WED, BERLIN, 'dentist', '2027-11-24'],
  ['dentist feb 30', WED, BERLIN, 'dentist feb 30', undefined],
  ['visit sept 9 2027', WED, BERLIN, 'visit', '2027-09-09'],
  ['iso 2027-03-01', WED, BERLIN, 'iso', '2027-03-01'],
  ['numeric 5/12 stays', WED, BERLIN, 'numeric 5/12 stays', undefined],
  // ---- the last date wins; the other stays in the title
  ['move friday meeting to monday', WED, BERLIN, 'move friday meeting to', '2026-11-30'],
  // ---- "today" depends on the zone: 23:30Z on Wed is Thu in Berlin and Tokyo, Wed in NY
  ['late tomorrow', '2026-11-25T23:30:00Z', BERLIN, 'late', '2026-11-27'],
  ['late tomorrow', '2026-11-25T23:30:00Z', NY, 'late', '2026-11-26'],
  ['late today', '2026-11-25T16:00:00Z', TOKYO, 'late', '2026-11-26'],
  // ---- times: instants in the zone, DST included
  ['call at 5pm', WED, BERLIN, 'call', '2026-11-25T16:00:00Z'],
  ['call at 9am', WED, BERLIN, 'call', '2026-11-26T08:00:00Z'],
  ['call tomorrow 17:30', WED, BERLIN, 'call', '2026-11-26T16:30:00Z'],
  ['lunch friday noon', WED, NY, 'lunch', '2026-11-27T17:00:00Z'],
  // Berlin springs forward on Sun 2027-03-28 (02:00 → 03:00): 9am is 07:00Z, not 08:00Z.
  ['brunch tomorrow 9am', '2027-03-27T12:00:00Z', BERLIN, 'brunch', '2027-03-28T07:00:00Z'],
  ['before tomorrow 9am', '2027-03-26T12:00:00Z', BERLIN, 'before', '2027-03-27T08:00:00Z'],
  // 02:30 does not exist that night: moved forward by the jump (03:30 CEST = 01:30Z).
  ['gap tomorrow 2:30am', '2027-03-27T12:00:00Z', BERLIN, 'gap', '2027-03-28T01:30:00Z'],
  // New York falls back on Sun 2026-11-01: 1:30am happens twice; the earlier (EDT) counts.
  ['twice tomorrow 1:30am', '2026-10-31T16:00:00Z', NY, 'twice', '2026-11-01T05:30:00Z'],
  ['after tomorrow 9am', '2026-10-31T16:00:00Z', NY, 'after', '2026-11-01T14:00:00Z'],
  // Berlin falls back on Sun 2026-10-25: 2:30am happens twice; the earlier (CEST) counts.
  ['fallback tomorrow 2:30am', '2026-10-24T12:00:00Z', BERLIN, 'fallback', '2026-10-25T00:30:00Z'],
  // Southern hemisphere: Sydney falls back on Sun 2027-04-04 (earlier = AEDT, +11) and
  // springs forward on Sun 2027-10-03 (2:30 → 3:30 AEDT).
  ['syd tomorrow 2:30am', '2027-04-03T02:00:00Z', SYDNEY, 'syd', '2027-04-03T15:30:00Z'],
  ['spring tomorrow 2:30am', '2027-10-02T02:00:00Z', SYDNEY, 'spring', '2027-10-02T16:30:00Z'],
  // Lord Howe moves by 30 minutes: 2:15am does not exist, 2:45 (+11) is meant.
  ['half tomorrow 2:15am', '2027-10-02T02:00:00Z', 'Australia/Lord_Howe', 'half', '2027-10-02T15:45:00Z'],
  // "in 1 day" across the DST night stays a calendar day.
  ['dst in 1 day', '2027-03-27T23:30:00Z', BERLIN, 'dst', '2027-03-29'],
]

describe('quick add parser table', () => {
  it('has at least 40 phrases', () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(40)
  })

  it.each(TABLE)('%s  (now %s, %s)', (phrase, now, zone, title, due, priority, tags) => {
    const r = parseQuickAdd(phrase, { now: new Date(now), timeZone: zone })
    expect(r.title).toBe(title)
    expect(r.fields?.due).toBe(due)
    expect(r.fields?.priority).toBe(priority)
    expect(r.fields?.tags).toEqual(tags)
  })
})

describe('chips', () => {
  const opts = { now: new Date(WED), timeZone: BERLIN }

  it('lists what was understood, in order date, priority, tags', () => {
    const r = parseQuickAdd('buy milk tomorrow at 9am !high #groceries #home', opts)
    expect(r.chips.map((c) => [c.kind, c.text, c.value])).toEqual([
      ['due', 'tomorrow at 9am', '2026-11-26T08:00:00Z'],
      ['priority', '!high', 'high'],
      ['tag', '#groceries', 'groceries'],
      ['tag', '#home', 'home'],
    ])
  })

  it('removing a chip puts its words back into the title', () => {
    const first = parseQuickAdd('read friday by Defoe #books', opts)
    expect(first.title).toBe('read by Defoe')
    const due = first.chips.find((c) => c.kind === 'due')!
    const r = parseQuickAdd('read friday by Defoe #books', { ...opts, ignore: [due.key] })
    expect(r.title).toBe('read friday by Defoe')
    expect(r.fields).toEqual({ title: 'read friday by Defoe', tags: ['books'] })
    const tag = r.chips.find((c) => c.kind === 'tag')!
    const r2 = parseQuickAdd('read friday by Defoe #books', { ...opts, ignore: new Set([due.key, tag.key]) })
    expect(r2.fields).toEqual({ title: 'read friday by Defoe #books' })
  })

  it('only metadata is not a task', () => {
    const r = parseQuickAdd('tomorrow !high #x', opts)
    expect(r.title).toBe('')
    expect(r.fields).toBeNull()
    expect(r.chips).toHaveLength(3)
  })
})

describe('zones', () => {
  it('converts wall time to an instant', () => {
    expect(new Date(zonedToUtc({ y: 2026, m: 7, d: 1 }, 12, 0, NY)).toISOString()).toBe('2026-07-01T16:00:00.000Z')
    expect(new Date(zonedToUtc({ y: 2026, m: 1, d: 1 }, 12, 0, NY)).toISOString()).toBe('2026-01-01T17:00:00.000Z')
  })

  it('falls back to the browser zone for an unknown setting', () => {
    expect(resolveTimeZone('Europe/Berlin')).toBe('Europe/Berlin')
    expect(resolveTimeZone('Not/AZone')).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone)
  })
})
