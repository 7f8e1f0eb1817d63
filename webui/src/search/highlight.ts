// Search snippets mark hits with <mark>…</mark>. They are split here into text pieces and
// rendered as React text nodes: a snippet is never parsed as HTML, so whatever a message
// contains ("<img onerror=…>") stays text.

export interface Piece {
  text: string
  hit: boolean
}

export function splitMarks(snippet: string): Piece[] {
  const out: Piece[] = []
  const re = /<mark>([\s\S]*?)<\/mark>/g
  let last = 0
  for (let m = re.exec(snippet); m; m = re.exec(snippet)) {
    if (m.index > last) out.push({ text: snippet.slice(last, m.index), hit: false })
    if (m[1]) out.push({ text: m[1], hit: true })
    last = m.index + m[0].length
  }
  if (last < snippet.length) out.push({ text: snippet.slice(last), hit: false })
  // A stray marker (never sent by the server) is shown as text, not interpreted.
  return out
}
