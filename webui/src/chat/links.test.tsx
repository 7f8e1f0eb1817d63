import { cleanup, render, screen } from '@testing-library/react'
import Markdown from 'react-markdown'
import { afterEach, describe, expect, it } from 'vitest'
import { mdComponents } from './Message'

afterEach(cleanup)

function reply(markdown: string) {
  render(<Markdown components={mdComponents}>{markdown}</Markdown>)
}

describe('links in a reply', () => {
  it('opens web and email addresses in a new window', () => {
    reply('[docs](https://example.com/a) [plain](http://example.com) [mail](mailto:me@example.com)')
    const links = screen.getAllByRole('link')
    expect(links.map((a) => a.getAttribute('href'))).toEqual([
      'https://example.com/a',
      'http://example.com',
      'mailto:me@example.com',
    ])
    for (const a of links) {
      expect(a.getAttribute('target')).toBe('_blank')
      expect(a.getAttribute('rel')).toBe('noopener noreferrer')
    }
  })

  it('shows any other address as text, not as a link that opens nothing or this page', () => {
    reply(
      '[a](file:///etc/passwd) [b](vscode://open?x=1) [c](/api/tasks/export) [d](javascript:alert(1)) ' +
        '[e](#top) [f](smb://server/share)',
    )
    expect(screen.queryAllByRole('link')).toEqual([])
    for (const text of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const shown = screen.getByText(text)
      expect(shown.tagName).toBe('SPAN')
      expect(shown.getAttribute('title')).toBe('TaskChat opens only web and email links')
    }
  })
})
