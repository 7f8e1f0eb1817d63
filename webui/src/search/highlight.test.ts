import { describe, expect, it } from 'vitest'
import { splitMarks } from './highlight'

describe('splitMarks', () => {
  it('splits hits from text', () => {
    expect(splitMarks('book the <mark>ferry</mark> to <mark>Texel</mark>.')).toEqual([
      { text: 'book the ', hit: false },
      { text: 'ferry', hit: true },
      { text: ' to ', hit: false },
      { text: 'Texel', hit: true },
      { text: '.', hit: false },
    ])
  })

  it('keeps markup in the text as text', () => {
    const pieces = splitMarks('<img src=x onerror=alert(1)> <mark>x</mark>')
    expect(pieces[0]).toEqual({ text: '<img src=x onerror=alert(1)> ', hit: false })
    expect(pieces[1]).toEqual({ text: 'x', hit: true })
  })

  it('handles no marks, empty and unbalanced markers', () => {
    expect(splitMarks('plain')).toEqual([{ text: 'plain', hit: false }])
    expect(splitMarks('')).toEqual([])
    expect(splitMarks('a <mark>b')).toEqual([{ text: 'a <mark>b', hit: false }])
  })
})
