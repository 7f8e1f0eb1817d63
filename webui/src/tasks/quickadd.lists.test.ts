import { describe, expect, it } from 'vitest'
import { numericOrder, parseQuickAdd } from './quickadd'

const BERLIN = 'Europe/Berlin'
const NY = 'America/New_York'
// Wednesday 2026-11-25 10:00 in Berlin.
const WED = new Date('2026-11-25T09:00:00Z')
const LISTS = [
  { id: 'l-travel', name: 'Travel' },
  { id: 'l-home', name: 'Home Office' },
]

function parse(text: string, extra: Partial<Parameters<typeof parseQuickAdd>[1]> = {}) {
  return parseQuickAdd(text, { now: WED, timeZone: BERLIN, lists: LISTS, ...extra })
}

describe('#list, @tag and p1–p4', () => {
  it('#name picks a list by its name, in any case, spaces typed as - or _', () => {
    expect(parse('book hotel #travel').fields).toEqual({ title: 'book hotel', list_id: 'l-travel' })
    expect(parse('new chair #home-office').fields?.list_id).toBe('l-home')
    expect(parse('new chair #Home_Office').fields?.list_id).toBe('l-home')
  })

  it('#word that names no list stays a tag; @word is always a tag', () => {
    expect(parse('milk #groceries').fields).toEqual({ title: 'milk', tags: ['groceries'] })
    expect(parse('passport @travel #travel').fields).toEqual({
      title: 'passport',
      tags: ['travel'],
      list_id: 'l-travel',
    })
    expect(parse('mail bob@example.com').fields).toEqual({ title: 'mail bob@example.com' })
  })

  it('shows a list chip that can be taken back', () => {
    const r = parse('book hotel #travel p1')
    const chip = r.chips.find((c) => c.kind === 'list')!
    expect([chip.text, chip.value]).toEqual(['#travel', 'l-travel'])
    const back = parse('book hotel #travel p1', { ignore: [chip.key] })
    expect(back.fields).toEqual({ title: 'book hotel #travel', priority: 'high' })
  })

  it.each([
    ['p1', 'high'],
    ['P2', 'medium'],
    ['p3', 'low'],
    ['p4', 'none'],
  ])('%s is priority %s', (p, level) => {
    expect(parse(`report ${p}`).fields).toEqual({ title: 'report', priority: level })
  })

  it('p5 and words like p1x stay in the title', () => {
    expect(parse('report p5 p1x').fields).toEqual({ title: 'report p5 p1x' })
  })
})

describe('numeric dates in the person locale', () => {
  const us = { locale: 'en-US' }
  const gb = { locale: 'en-GB' }
  const de = { locale: 'de-DE' }

  it('knows which number is the month', () => {
    expect(numericOrder('en-US')).toBe('md')
    expect(numericOrder('en-GB')).toBe('dm')
    expect(numericOrder('de-DE')).toBe('dm')
    expect(numericOrder(undefined)).toBeUndefined()
  })

  it.each([
    ['gift 12/15', us, 'gift', '2026-12-15'],
    ['gift 15/12', gb, 'gift', '2026-12-15'],
    ['gift 5/12', us, 'gift', '2027-05-12'],
    ['gift 5/12', gb, 'gift', '2026-12-05'],
    ['gift 12/15/2027', us, 'gift', '2027-12-15'],
    ['gift 15/12/27', gb, 'gift', '2027-12-15'],
    // No such date in that order: never a wrong date, the words stay.
    ['gift 12/15', gb, 'gift 12/15', undefined],
    ['gift 15/12', us, 'gift 15/12', undefined],
    // No locale known: numeric dates are not read.
    ['gift 12/15', {}, 'gift 12/15', undefined],
    // Dotted dates are day-first everywhere.
    ['gift 15.12.', us, 'gift', '2026-12-15'],
    ['gift 15.12.', de, 'gift', '2026-12-15'],
    ['gift 15.12.2027', de, 'gift', '2027-12-15'],
    ['gift 24.11.', de, 'gift', '2027-11-24'], // yesterday: next year's
    ['pay 15.12 euros', de, 'pay 15.12 euros', undefined], // a number, not a date
    ['gift 31.11.', de, 'gift 31.11.', undefined],
    ['gift 2026-12-15', de, 'gift', '2026-12-15'],
  ])('%s (%o)', (text, extra, title, due) => {
    const r = parse(text, extra)
    expect(r.title).toBe(title)
    expect(r.fields?.due).toBe(due)
  })
})

describe('wed, sat and sun', () => {
  it.each([
    ['gym wed', 'gym', '2026-12-02'],
    ['gym sat', 'gym', '2026-11-28'],
    ['gym sun', 'gym', '2026-11-29'],
    ['gym on sat', 'gym', '2026-11-28'],
    ['gym due sun', 'gym', '2026-11-29'],
    ['gym next sat', 'gym', '2026-12-05'],
    ['gym sat 10am', 'gym', '2026-11-28T09:00:00Z'],
    ['gym sat at 18:00', 'gym', '2026-11-28T17:00:00Z'],
    ['sat nav sun cream', 'sat nav sun cream', undefined],
    ['wed dress fitting', 'wed dress fitting', undefined],
  ])('%s', (text, title, due) => {
    const r = parse(text)
    expect(r.title).toBe(title)
    expect(r.fields?.due).toBe(due)
  })

  it('reads them in the person zone', () => {
    // 23:30Z on Saturday 28 Nov is Sunday in Berlin, still Saturday in New York.
    const late = new Date('2026-11-28T23:30:00Z')
    expect(parse('call sun', { now: late }).fields?.due).toBe('2026-12-06')
    expect(parse('call sun', { now: late, timeZone: NY }).fields?.due).toBe('2026-11-29')
  })
})
