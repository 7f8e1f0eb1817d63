import { describe, expect, it } from 'vitest'

import { parseQuickAddWithRepeat, parseRepeat, ruleInWords } from './recurrence'

describe('parseRepeat', () => {
  it.each([
    ['water plants every monday', 'FREQ=WEEKLY;BYDAY=MO', 'water plants', null],
    ['review every 2 weeks', 'FREQ=WEEKLY;INTERVAL=2', 'review', null],
    ['standup every weekday at 9:30', 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', 'standup', '09:30'],
    ['vitamins daily at 9', 'FREQ=DAILY', 'vitamins', '09:00'],
    ['pay rent monthly on the 1st', 'FREQ=MONTHLY;BYMONTHDAY=1', 'pay rent', null],
    ['every month on the 15th: invoice', 'FREQ=MONTHLY;BYMONTHDAY=15', ': invoice', null],
    ['birthday every year', 'FREQ=YEARLY', 'birthday', null],
    ['gym every mon and thu at 7pm', 'FREQ=WEEKLY;BYDAY=MO,TH', 'gym', '19:00'],
    ['Call Mom EVERY Sunday at 6 PM', 'FREQ=WEEKLY;BYDAY=SU', 'Call Mom', '18:00'],
    ['every day', 'FREQ=DAILY', '', null],
  ])('%s', (text, rule, rest, time) => {
    const got = parseRepeat(text)
    expect(got?.rule).toBe(rule)
    expect(got?.rest).toBe(rest.replace(/^:\s*/, ''))
    expect(got?.time).toBe(time)
  })

  it('leaves text without a repeat phrase alone', () => {
    expect(parseRepeat('buy milk tomorrow')).toBeNull()
    expect(parseRepeat('everyone meeting')).toBeNull()
    expect(parseRepeat('daily standup notes')?.rule).toBe('FREQ=DAILY')
  })

  it('keeps the words as typed for a chip', () => {
    expect(parseRepeat('gym every Monday at 7pm tomorrow')?.text).toBe('every Monday at 7pm')
  })
})

describe('ruleInWords', () => {
  it.each([
    ['FREQ=WEEKLY;BYDAY=MO', 'every week on Monday'],
    ['FREQ=WEEKLY;INTERVAL=2', 'every 2 weeks'],
    ['FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', 'every weekday'],
    ['FREQ=DAILY', 'daily'],
    ['FREQ=DAILY;BYHOUR=9', 'daily at 09:00'],
    ['FREQ=MONTHLY;BYMONTHDAY=1', 'every month on the 1st'],
    ['FREQ=MONTHLY;BYMONTHDAY=-1', 'every month on the last'],
    ['FREQ=YEARLY', 'every year'],
    ['RRULE:FREQ=DAILY;COUNT=3', 'daily, 3 more times'],
    ['FREQ=WEEKLY;BYDAY=SU;UNTIL=20270101T000000Z', 'every week on Sunday, until 2027-01-01'],
  ])('%s', (rule, words) => {
    expect(ruleInWords(rule)).toBe(words)
  })

  it('says nothing for no rule', () => {
    expect(ruleInWords(null)).toBe('')
  })

  it('round-trips every quick-add phrase into words', () => {
    expect(ruleInWords(parseRepeat('every 2 weeks')?.rule)).toBe('every 2 weeks')
    expect(ruleInWords(parseRepeat('every weekday')?.rule)).toBe('every weekday')
    expect(ruleInWords(parseRepeat('monthly on the 1st')?.rule)).toBe('every month on the 1st')
  })
})

describe('parseQuickAddWithRepeat', () => {
  const opts = { now: new Date('2026-12-04T09:00:00Z'), timeZone: 'Europe/Berlin' }

  it('adds a repeat chip and the recurrence', () => {
    const got = parseQuickAddWithRepeat('water plants every sunday #home', opts)
    expect(got.fields?.title).toBe('water plants')
    expect(got.fields?.recurrence).toBe('FREQ=WEEKLY;BYDAY=SU')
    expect(got.fields?.tags).toEqual(['home'])
    expect(got.chips.map((c) => c.kind)).toEqual(['repeat', 'tag'])
  })

  it('hands the time on to the due', () => {
    const got = parseQuickAddWithRepeat('vitamins daily at 9', opts)
    expect(got.fields?.recurrence).toBe('FREQ=DAILY')
    // 09:00 in Berlin is 08:00Z; at 10:00 Berlin it has passed, so tomorrow.
    expect(got.fields?.due).toBe('2026-12-05T08:00:00Z')
  })

  it('drops the chip when asked, keeping the words', () => {
    const first = parseQuickAddWithRepeat('review every 2 weeks', opts)
    const key = first.chips[0].key
    const got = parseQuickAddWithRepeat('review every 2 weeks', { ...opts, ignore: [key] })
    expect(got.fields?.recurrence).toBeUndefined()
    expect(got.fields?.title).toBe('review every 2 weeks')
  })
})
